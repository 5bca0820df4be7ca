import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../../config/config.js';
import { describeError, PachbackupError } from '../../errors.js';
import { describeAccess, type AccessCheck } from '../../kubernetes/pachyderm-workloads.js';
import { checkDumpCompatible, findPgTool, toolVersion } from '../../postgres/pg-tools.js';
import { probeSnapshotPath } from '../../postgres/database-snapshot.js';
import { inspectServer } from '../../postgres/server-info.js';
import { sameBucket } from '../../identity/same-bucket.js';
import type { Step } from '../../runner/step.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs } from '../backup-outputs.js';

/** Every Kubernetes permission the backup's steps use, for the configured cluster. */
export function backupAccessChecks(deps: Pick<BackupDeps, 'cluster'>): AccessCheck[] {
  const { pachyderm, ingress } = deps.cluster;
  const checks: AccessCheck[] = [
    { verb: 'get', group: 'apps', resource: 'deployments', name: pachyderm.deployment },
    { verb: 'list', group: 'apps', resource: 'deployments' },
    { verb: 'watch', group: 'apps', resource: 'deployments' },
    { verb: 'list', group: '', resource: 'pods' },
    { verb: 'watch', group: '', resource: 'pods' },
    { verb: 'list', group: '', resource: 'replicationcontrollers' },
    { verb: 'patch', group: '', resource: 'replicationcontrollers', subresource: 'scale' },
    { verb: 'list', group: '', resource: 'secrets' },
    { verb: 'get', group: '', resource: 'configmaps', name: 'pachd-config' },
  ];
  for (const name of [pachyderm.deployment, ...pachyderm.quiesce, ...ingress.deployments]) {
    checks.push({ verb: 'get', group: 'apps', resource: 'deployments', name });
    checks.push({ verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', name });
  }
  if (pachyderm.pauseStrategy === 'enterprise') {
    checks.push({ verb: 'patch', group: '', resource: 'configmaps', name: 'pachd-config' });
    checks.push({ verb: 'patch', group: 'apps', resource: 'deployments', name: pachyderm.deployment });
  }
  for (const name of ingress.cronJobs) {
    checks.push({ verb: 'get', group: 'batch', resource: 'cronjobs', name });
    checks.push({ verb: 'patch', group: 'batch', resource: 'cronjobs', name });
  }
  return dedupe(checks);
}

function dedupe(checks: AccessCheck[]): AccessCheck[] {
  const seen = new Set<string>();
  return checks.filter((c) => {
    const key = describeAccess(c);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function checkBucket(s3: S3Client, store: ObjectStoreConfig, role: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: store.bucket }), { abortSignal: signal });
    return undefined;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const why = status === 404 ? 'does not exist' : status === 403 ? 'access denied' : describeError(err);
    return `${role} bucket s3://${store.bucket}${store.endpoint ? ` at ${store.endpoint}` : ''}: ${why}`;
  }
}

/**
 * Checks, without changing anything, that the backup can run to its end: Kubernetes permissions for every
 * action (SelfSubjectAccessReview), pachd and the workers found and running, PostgreSQL reachable with the
 * configured sslmode, pg_dump not older than the server, both buckets reachable and distinct (as the stores
 * answer it, see sameBucket) — and whether the dumps can come from snapshots exported while paused (if not, they
 * are dumped while paused; not a problem). Every problem is
 * reported at once; any problem ends the run as failed-validation with nothing touched.
 */
export function preflight(deps: BackupDeps): Step<BackupOutputs> {
  const { cluster, workloads } = deps;
  return {
    name: 'preflight',
    title: 'Preflight checks',
    description: 'Check access to Kubernetes, PostgreSQL and both buckets, and that the cluster runs; change nothing.',
    validation: true,
    async run(ctx) {
      const problems: string[] = [];
      const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
        try {
          return await fn();
        } catch (err) {
          problems.push(`${what}: ${describeError(err)}`);
          return undefined;
        }
      };

      const [denied, snapshot] = await Promise.all([
        attempt('Kubernetes permissions', () => workloads.deniedAccess(backupAccessChecks(deps))),
        attempt('Kubernetes', () => workloads.snapshot()),
      ]);
      if (denied && denied.length > 0) problems.push(`Kubernetes denies: ${denied.map(describeAccess).join('; ')} (namespace ${workloads.namespace})`);
      if (snapshot) {
        if (snapshot.pachd.replicas === 0) {
          problems.push(`${snapshot.pachd.name} is scaled to 0: the cluster already looks paused; resume it first (its replica counts would be recorded as 0)`);
        } else if (snapshot.pachdReady === 0) {
          problems.push(`${snapshot.pachd.name} has no ready pod: back up a healthy cluster, or resume it first`);
        }
        if (snapshot.pachdMode === 'paused') problems.push('pachd-config has MODE=paused: the cluster is in enterprise paused mode; unpause it first');
      }

      const pgDumpPath = await attempt('pg_dump', async () => findPgTool('pg_dump', deps.pgBinDir ? { explicitPath: `${deps.pgBinDir}/pg_dump` } : {}));
      const pgDump = pgDumpPath ? await attempt('pg_dump', () => toolVersion(pgDumpPath, { signal: ctx.signal })) : undefined;
      const servers = await Promise.all(
        cluster.postgres.databases.map((database) => attempt(`PostgreSQL ${cluster.postgres.host}:${cluster.postgres.port}/${database}`, () => inspectServer(cluster.postgres, database, { signal: ctx.signal }))),
      );
      const server = servers.find((s) => s !== undefined);
      if (server && pgDump) {
        const incompatible = checkDumpCompatible(pgDump.major, server.major);
        if (incompatible) problems.push(describeError(incompatible));
      }
      if (server) {
        for (const db of server.databases) if (!db.exists) problems.push(`PostgreSQL database "${db.name}" does not exist on ${cluster.postgres.host}`);
      }

      // Not a problem when unusable: the databases are then dumped while paused, and the run says so.
      const snapshotPath = server ? await probeSnapshotPath(cluster.postgres, cluster.postgres.databases) : undefined;

      const bucketProblems = await Promise.all([
        checkBucket(deps.clusterS3, cluster.objectStore, 'cluster', ctx.signal),
        checkBucket(deps.backupS3, cluster.backupStore, 'backup store', ctx.signal),
      ]);
      problems.push(...bucketProblems.filter((p): p is string => p !== undefined));
      if (bucketProblems.every((p) => p === undefined)) {
        // Asked of the stores (a marker written to the backup store), not read from how the endpoints are spelt.
        const same = await sameBucket({ store: cluster.backupStore, s3: deps.backupS3 }, { store: cluster.objectStore, s3: deps.clusterS3 }, { markerPrefix: cluster.backupStore.prefix, signal: ctx.signal });
        const store = `s3://${cluster.backupStore.bucket}${cluster.backupStore.endpoint ? ` at ${cluster.backupStore.endpoint}` : ''}`;
        if (same.verdict === 'same') problems.push(`the backup store ${store} is the cluster's own bucket (${same.how}): a backup must live elsewhere`);
        else if (same.verdict === 'unknown') ctx.warn(`could not tell whether the backup store ${store} is the cluster's own bucket: ${same.how}`);
      }

      if (problems.length > 0 || !snapshot || !server || !pgDump || !pgDumpPath || !snapshotPath) {
        throw new PachbackupError('precondition', problems.join('; ') || 'preflight could not complete');
      }
      const workers = snapshot.workers.reduce((n, w) => n + w.replicas, 0);
      return {
        output: {
          preflight: {
            snapshot,
            serverVersion: server.version,
            pgDumpPath,
            pgDumpVersion: pgDump.text,
            databaseBytes: Object.fromEntries(server.databases.map((d) => [d.name, d.bytes ?? 0])),
            snapshotPath,
          },
        },
        summary: `${snapshot.pachd.name} ×${snapshot.pachd.replicas}, ${snapshot.workers.length} worker RCs (${workers} pods); PostgreSQL ${server.version}${server.ssl ? ' over TLS' : ''}; ${pgDump.text}; ${snapshotPath.usable ? 'dumps from snapshots after the resume' : `dumps while paused (${snapshotPath.reason})`}`,
      };
    },
  };
}
