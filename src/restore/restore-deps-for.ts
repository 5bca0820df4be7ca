import type { S3Client } from '@aws-sdk/client-s3';
import { parseBackupId } from '../catalog/backup-layout.js';
import type { ClusterConfig, Config, ObjectStoreConfig } from '../config/config.js';
import { createS3Client } from '../object-store/s3-client.js';
import { clusterAdapters } from '../runtime/cluster-adapters.js';
import type { StateConnections } from '../runtime/connect-state.js';
import type { BackupLocation } from './read-backup.js';
import { sourceClusterOf } from './restore-approval.js';
import type { RestoreDeps } from './restore-deps.js';

/**
 * Where backup `backupId` is: in the backup store of the cluster its id names when that cluster is configured
 * (a backup of prod restored into staging), otherwise in the target cluster's own backup store (the cluster that
 * made it is gone or not configured here).
 */
export function backupStoreFor(config: Config, backupId: string, target: ClusterConfig): { store: ObjectStoreConfig; cluster: string } {
  return { store: sourceClusterOf(config, backupId, target).backupStore, cluster: parseBackupId(backupId)?.cluster ?? target.name };
}

/** S3 clients by store (endpoint, region, credentials), created on first use and destroyed together. */
function createClientCache() {
  const clients = new Map<string, S3Client>();
  return {
    clientFor(store: ObjectStoreConfig): S3Client {
      const key = JSON.stringify([store.endpoint ?? '', store.region, store.forcePathStyle, store.credentials?.accessKeyId ?? '', store.credentials?.secretAccessKey ?? '']);
      let client = clients.get(key);
      if (!client) {
        client = createS3Client(store);
        clients.set(key, client);
      }
      return client;
    },
    close() {
      for (const c of clients.values()) c.destroy();
      clients.clear();
    },
  };
}

/**
 * A restore's dependencies, as the CLI and the worker build them: the target cluster's adapters, the backup's
 * location, a client cache for target buckets, the other configured clusters (guards), and the shared state.
 * `close()` releases the clients.
 */
export function restoreDepsFor(
  config: Config,
  target: ClusterConfig,
  state: Pick<StateConnections, 'locks' | 'runs'>,
  run: { id: string; backupId: string; requestedBy: string; approvedBy?: string; note?: string },
): RestoreDeps & { close(): void } {
  const adapters = clusterAdapters(target);
  const clients = createClientCache();
  const where = backupStoreFor(config, run.backupId, target);
  const backup: BackupLocation = { s3: clients.clientFor(where.store), store: where.store, cluster: where.cluster };
  const threshold = Number(process.env.PACHBACKUP_MULTIPART_THRESHOLD);
  return {
    restoreId: run.id,
    requestedBy: run.requestedBy,
    ...(run.approvedBy ? { approvedBy: run.approvedBy } : {}),
    ...(run.note ? { note: run.note } : {}),
    backup,
    target,
    workloads: adapters.workloads,
    objectStoreClient: (store) => clients.clientFor(store),
    knownClusters: Object.values(config.clusters),
    locks: state.locks,
    runs: state.runs,
    session: {},
    ...(threshold > 0 ? { multipartThreshold: threshold } : {}),
    close() {
      clients.close();
      adapters.close();
    },
  };
}
