import { createCatalog } from '../catalog/catalog.js';
import type { ClusterConfig, Config } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { loadKubeConfig } from '../kubernetes/kube-config.js';
import { createPachydermWorkloads } from '../kubernetes/pachyderm-workloads.js';
import { createS3Client } from '../object-store/s3-client.js';

/** The configured cluster named `name`, or a usage error listing the configured ones. */
export function clusterNamed(config: Config, name: string | undefined): ClusterConfig {
  const names = Object.keys(config.clusters);
  if (!name) {
    if (names.length === 1) return config.clusters[names[0]!]!;
    throw new PachbackupError('usage', 'which cluster?', { hint: `name one with --cluster: ${names.join(', ')}` });
  }
  const cluster = config.clusters[name];
  if (!cluster) throw new PachbackupError('usage', `no cluster "${name}" in ${config.source}`, { hint: `configured clusters: ${names.join(', ')}` });
  return cluster;
}

/** Clients for one cluster: its Kubernetes workloads, its bucket, its backup store and the catalog there. */
export function clusterAdapters(cluster: ClusterConfig) {
  const clusterS3 = createS3Client(cluster.objectStore);
  const backupS3 = createS3Client(cluster.backupStore);
  return {
    cluster,
    workloads: createPachydermWorkloads(loadKubeConfig(cluster.kubernetes), cluster),
    clusterS3,
    backupS3,
    catalog: createCatalog(backupS3, cluster.backupStore),
    close() {
      clusterS3.destroy();
      backupS3.destroy();
    },
  };
}

export type ClusterAdapters = ReturnType<typeof clusterAdapters>;
