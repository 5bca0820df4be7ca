import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import pg from 'pg';
import { stringify } from 'yaml';
import type { ClusterConfig, Config } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log.js';
import { listObjects } from '../../src/object-store/list-objects.js';
import { backupDepsFor } from '../../src/runtime/backup-deps-for.js';
import { connectState, type StateConnections } from '../../src/runtime/connect-state.js';
import { startKubeSimulator, type KubeSimulator } from '../../src/sandbox/kube-sim/index.js';
import { addChunks } from '../../src/sandbox/seed/chunks.js';
import { stopProcess } from '../../src/sandbox/processes.js';
import { startPostgres } from '../../src/sandbox/services/postgres.js';
import { createPachydermSchema, seedDexDatabase, seedPachydermRows } from '../../src/sandbox/seed/pachyderm-database.js';
import { createTestBucket, createTestDatabase, services, uniqueName } from './services.js';

export const quietLogger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * A Pachyderm "cluster" for one test, on the shared real services: its own pachyderm and dex databases
 * (seeded), cluster and backup buckets (with chunk objects), state database, Redis key prefix, and an in-process
 * Kubernetes simulator; plus the config file pointing at all of it, as an operator would write it.
 */
export async function createPachydermFixture(
  options: {
    objects?: number;
    podDelayMs?: number;
    pauseStrategy?: 'scale' | 'enterprise';
    pauseTimeoutSeconds?: number;
    resumeTimeoutSeconds?: number;
    dedicatedPostgres?: boolean;
    /** The user-supplied values of the deployed Helm release (default: the simulator's). */
    helmValues?: Record<string, unknown>;
    /** The cluster's name in the config (default `test`). */
    clusterName?: string;
    /** Redis and S3 of the test's own (fault tests stop and start them): see fault-services.ts. */
    redisUrl?: string;
    s3Endpoint?: string;
    /** The cluster lock's (and run lease's) TTL in this process. */
    lockTtlMs?: number;
    editConfig?: (config: Record<string, any>, dir: string) => void;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'pachbackup-fixture-'));
  // A test that stops PostgreSQL gets a server of its own; the others share the suite's.
  const dedicated = options.dedicatedPostgres ? await startPostgres({ dataDir: join(dir, 'postgres') }) : undefined;
  const server = dedicated ? { url: dedicated.url, port: dedicated.port, caFile: dedicated.caFile } : { url: services().postgresUrl, port: services().postgresPort, caFile: services().caFile };
  const [pachydermDb, dexDb, stateDb, clusterBucket, backupBucket] = await Promise.all([
    createTestDatabase('pachyderm', server.url),
    createTestDatabase('dex', server.url),
    createTestDatabase('state'),
    createTestBucket('cluster', options.s3Endpoint),
    createTestBucket('backup', options.s3Endpoint),
  ]);
  const pachyderm = new pg.Client({ connectionString: pachydermDb.url });
  const dex = new pg.Client({ connectionString: dexDb.url });
  await Promise.all([pachyderm.connect(), dex.connect()]);
  pachyderm.on('error', () => undefined); // a test may stop its server under it
  await createPachydermSchema(pachyderm);
  await seedPachydermRows(pachyderm, 'small');
  await seedDexDatabase(dex);
  await dex.end();
  const seeded = await addChunks({ s3: clusterBucket.s3, bucket: clusterBucket.name, db: pachyderm, count: options.objects ?? 60, minBytes: 1024, maxBytes: 32 * 1024 });

  const kube = await startKubeSimulator({ podDelayMs: options.podDelayMs ?? 10, ...(options.helmValues ? { seed: { helmValues: options.helmValues } } : {}) });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kube.kubeconfig('pachyderm'));
  const secret = join(dir, 's3-secret');
  writeFileSync(secret, 'S3RVER\n');
  const redisPrefix = uniqueName('pachbackup-test');
  const configFile = join(dir, 'pachbackup.yaml');
  const rawConfig: Record<string, any> = {
      stateDatabase: { url: stateDb.url },
      redis: { url: options.redisUrl ?? services().redisUrl, prefix: redisPrefix },
      clusters: {
        [options.clusterName ?? 'test']: {
          kubernetes: { kubeconfig, context: 'sandbox', namespace: 'pachyderm' },
          pachyderm: { pauseStrategy: options.pauseStrategy ?? 'scale' },
          postgres: { host: '127.0.0.1', port: server.port, user: 'postgres', sslmode: 'verify-full', sslRootCert: server.caFile, databases: [pachydermDb.name, dexDb.name] },
          objectStore: { endpoint: options.s3Endpoint ?? services().s3Endpoint, bucket: clusterBucket.name, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: { file: secret } },
          backupStore: { bucket: backupBucket.name, prefix: 'pachbackup' },
          ingress: { cronJobs: ['ingest-uploads'], deployments: ['ingest-gateway'] },
          backup: { pauseTimeoutSeconds: options.pauseTimeoutSeconds ?? 30, resumeTimeoutSeconds: options.resumeTimeoutSeconds ?? 30 },
        },
      },
  };
  options.editConfig?.(rawConfig, dir);
  writeFileSync(configFile, stringify(rawConfig));
  const config: Config = loadConfig(configFile);
  const cluster: ClusterConfig = config.clusters[options.clusterName ?? 'test']!;
  const state: StateConnections = await connectState(config, options.lockTtlMs ? { lockTtlMs: options.lockTtlMs } : {});

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const opened: { close(): void }[] = [];

  return {
    dir,
    kube: kube as KubeSimulator,
    configFile,
    config,
    cluster,
    state,
    pachydermDb,
    dexDb,
    pachyderm,
    clusterBucket,
    backupBucket,
    seededObjects: seeded.length,
    /** The dedicated PostgreSQL server's postmaster PID, when the fixture has one. */
    postgresPid: dedicated?.pid,
    /** A backup's dependencies, as the CLI and the worker build them. */
    deps(id: string, requestedBy = 'test') {
      const deps = backupDepsFor(cluster, state, { id, requestedBy });
      opened.push(deps);
      return deps;
    },
    /** Replicas as `kubectl get deploy,rc` shows them. */
    async replicas(): Promise<Record<string, number>> {
      const [deployments, rcs] = await Promise.all([apps.listNamespacedDeployment({ namespace: 'pachyderm' }), core.listNamespacedReplicationController({ namespace: 'pachyderm' })]);
      return Object.fromEntries([...deployments.items, ...rcs.items].map((o) => [o.metadata!.name!, o.spec?.replicas ?? 0]));
    },
    async runningPods(): Promise<number> {
      return (await core.listNamespacedPod({ namespace: 'pachyderm' })).items.filter((p) => !p.metadata?.deletionTimestamp).length;
    },
    async cronJobSuspended(name: string): Promise<boolean> {
      return (await batch.readNamespacedCronJob({ name, namespace: 'pachyderm' })).spec?.suspend ?? false;
    },
    async addObjects(count: number) {
      return addChunks({ s3: clusterBucket.s3, bucket: clusterBucket.name, db: pachyderm, count, minBytes: 1024, maxBytes: 32 * 1024 });
    },
    /** The cluster bucket's listing: key → size and ETag. */
    async clusterListing(): Promise<Map<string, { size: number; etag: string }>> {
      const listing = new Map<string, { size: number; etag: string }>();
      for await (const o of listObjects(clusterBucket.s3, clusterBucket.name, '')) listing.set(o.key, { size: o.size, etag: o.etag });
      return listing;
    },
    async cleanup() {
      for (const o of opened) o.close();
      await state.close();
      await pachyderm.end().catch(() => undefined);
      await kube.close();
      if (dedicated) {
        await stopProcess(dedicated.pid, { signal: 'SIGINT' });
        rmSync(dedicated.dataDir, { recursive: true, force: true });
      } else await Promise.all([pachydermDb.drop(), dexDb.drop()]);
      await Promise.all([stateDb.drop(), clusterBucket.drop(), backupBucket.drop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type PachydermFixture = Awaited<ReturnType<typeof createPachydermFixture>>;
