import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import * as k8s from '@kubernetes/client-node';
import pg from 'pg';
import { loadConfig } from '../config/load-config.js';
import { decodeHelmRelease } from '../helm/release-secret.js';
import { loadKubeConfig } from '../kubernetes/kube-config.js';
import { createLogger } from '../log.js';
import { createS3Client } from '../object-store/s3-client.js';
import { sandboxDown } from './sandbox-down.js';
import { sandboxUp } from './sandbox-up.js';
import type { DatasetSize } from './seed/chunks.js';

/**
 * `npm run sandbox`: brings the sandbox up, shows what pachbackup will work on — read through the same
 * clients and config the product uses — and takes it down again, leaving nothing running.
 */
export async function runSandboxDemo(options: { dir: string; size: DatasetSize }): Promise<void> {
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  const started = Date.now();
  console.log(`Starting the sandbox (${options.size})...`);
  const state = await sandboxUp({ dir: options.dir, size: options.size, logger });
  try {
    console.log(`Sandbox up in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
    const config = loadConfig(state.config);
    const cluster = config.clusters[state.cluster]!;

    const kc = loadKubeConfig(cluster.kubernetes);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = cluster.kubernetes.namespace;
    const deployments = await apps.listNamespacedDeployment({ namespace: ns });
    const rcs = await core.listNamespacedReplicationController({ namespace: ns, labelSelector: cluster.pachyderm.workerSelector });
    const releases = await core.listNamespacedSecret({ namespace: ns, labelSelector: `owner=helm,name=${cluster.pachyderm.helmRelease},status=deployed` });
    console.log(`Kubernetes (${kc.getCurrentCluster()?.server}, namespace ${ns}):`);
    for (const d of deployments.items) console.log(`  deployment ${d.metadata?.name}: ${d.status?.readyReplicas ?? 0}/${d.spec?.replicas} ready`);
    for (const rc of rcs.items) console.log(`  worker rc  ${rc.metadata?.name}: ${rc.status?.readyReplicas ?? 0}/${rc.spec?.replicas} ready`);
    const secret = releases.items[0];
    if (secret?.data?.release) {
      const release = decodeHelmRelease(secret.data.release);
      console.log(`  helm release ${release.name} revision ${release.version}: chart ${release.chart.metadata.version}, app ${release.chart.metadata.appVersion}`);
    }

    console.log(`\nPostgreSQL (${cluster.postgres.host}:${cluster.postgres.port}, sslmode ${cluster.postgres.sslmode}):`);
    for (const database of cluster.postgres.databases) {
      const client = new pg.Client({
        host: cluster.postgres.host,
        port: cluster.postgres.port,
        user: cluster.postgres.user,
        password: cluster.postgres.password,
        database,
        ssl: { ca: (await import('node:fs')).readFileSync(cluster.postgres.sslRootCert!, 'utf8') },
      });
      await client.connect();
      const { rows } = await client.query<{ tables: string; size: string; ssl: boolean }>(
        `SELECT (SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) AS tables,
                pg_size_pretty(pg_database_size(current_database())) AS size,
                (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl`,
      );
      console.log(`  ${database}: ${rows[0]!.tables} tables, ${rows[0]!.size}${rows[0]!.ssl ? ', over TLS' : ''}`);
      await client.end();
    }

    const s3 = createS3Client(cluster.objectStore);
    let objects = 0;
    let bytes = 0;
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: cluster.objectStore.bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) (objects += 1), (bytes += o.Size ?? 0);
      token = page.NextContinuationToken;
    } while (token);
    s3.destroy();
    console.log(`\nObject store (${cluster.objectStore.endpoint}): bucket ${cluster.objectStore.bucket} holds ${objects} objects, ${(bytes / 1048576).toFixed(1)} MiB`);
    console.log(`Backup store: s3://${cluster.backupStore.bucket}/${cluster.backupStore.prefix}`);
    console.log('\nThe backup engine and the Slack app are not built yet; once they are, this runs a backup end to end here.');
  } finally {
    const { stopped } = await sandboxDown(options.dir);
    console.log(`\nSandbox stopped (${stopped.join(', ')}); nothing left running.`);
  }
}
