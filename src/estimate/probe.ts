import type { S3Client } from '@aws-sdk/client-s3';
import type { BackupManifest } from '../catalog/manifest.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ClusterConfig } from '../config/config.js';
import { describeError, PachbackupError } from '../errors.js';
import type { PachydermWorkloads, WorkloadReplicas } from '../kubernetes/pachyderm-workloads.js';
import { listObjects } from '../object-store/list-objects.js';
import { storeKeyPrefix } from '../object-store/pool-keys.js';
import { probeSnapshotPath } from '../postgres/database-snapshot.js';
import { inspectServer } from '../postgres/server-info.js';
import { DEFAULT_THROUGHPUT, type ClusterPace, type ThroughputFallback } from './estimate-downtime.js';
import type { DowntimeSizes } from './step-features.js';

/** What the probe reads from: the cluster's adapters, as a backup's dependencies carry them. */
export interface ProbeDeps {
  cluster: Pick<ClusterConfig, 'name' | 'postgres' | 'objectStore' | 'backup'>;
  workloads: Pick<PachydermWorkloads, 'snapshot' | 'podPace'>;
  clusterS3: S3Client;
  catalog: Pick<Catalog, 'latestManifest'>;
}

export interface ProbeOptions {
  signal?: AbortSignal;
  /** Keys per listing page (S3's maximum and default: 1000). */
  pageSize?: number;
  /** With no manifest to read the count from, the listing stops after this many keys (default 100 000)… */
  maxKeys?: number;
  /** …or after this long (default 5 s), whichever comes first; the count is then a lower bound. */
  listBudgetMs?: number;
  /** Assumed dump rate (default `DEFAULT_THROUGHPUT.dumpBytesPerSecond`): nothing is dumped to measure it. */
  dumpBytesPerSecond?: number;
}

/** Where the object count came from. */
export interface ObjectCount {
  count: number;
  /**
   * `listing`: the cluster bucket listed to its end, now — exact. `manifest`: the latest complete backup's
   * inventory (`objects.count`), when the bucket is too large to list here — objects written since are missing.
   * `partial-listing`: no manifest, and the listing stopped at `maxKeys` or `listBudgetMs` — a lower bound;
   * nothing is extrapolated.
   */
  source: 'listing' | 'manifest' | 'partial-listing';
  /** The backup the count comes from, for `manifest`. */
  backupId?: string;
}

/**
 * What the coming backup will have to do, measured now without changing anything: the sizes the downtime
 * model is fitted on, and the throughput the no-history model needs. A part that cannot be measured is left
 * out with a warning rather than failing the whole probe (an estimate from the rest beats none).
 */
export interface UpcomingBackup {
  /** The sizes that could be measured. */
  sizes: Partial<DowntimeSizes>;
  /** The replicas the pause would stop. */
  replicas?: WorkloadReplicas;
  databases: { name: string; bytes: number | null }[];
  objects?: ObjectCount;
  /**
   * `listObjectsPerSecond`: measured from the first page of the cluster bucket's listing, counted as a full
   * page (listing is bound by the store's latency per page, not by the keys in it); the default when the
   * listing failed. `dumpBytesPerSecond`: assumed (see `DEFAULT_THROUGHPUT`).
   */
  throughput: ThroughputFallback & { listPageSeconds?: number; measured: { list: boolean; dump: false } };
  warnings: string[];
  /** How long the probe took. */
  probeMs: number;
}

const PAGE_SIZE = 1000;

/** The pods a pause stops, counted as the pause step counts them (its `sizes.objects`). */
export function podsOf(replicas: WorkloadReplicas): number {
  return replicas.pachd.replicas + replicas.deployments.reduce((n, d) => n + d.replicas, 0) + replicas.workers.reduce((n, w) => n + w.replicas, 0);
}

/**
 * Lists the cluster bucket (as the delta copy will: under the store's prefix) to time its first page, and to
 * count the objects when the listing is short or there is no manifest to take the count from.
 */
async function probeObjects(deps: ProbeDeps, options: ProbeOptions, warnings: string[]): Promise<{ objects?: ObjectCount; listPageSeconds?: number }> {
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const maxKeys = options.maxKeys ?? 100_000;
  const budgetMs = options.listBudgetMs ?? 5000;
  const manifest = deps.catalog.latestManifest(deps.cluster.name).catch((err: unknown) => {
    warnings.push(`could not read the latest backup's manifest: ${describeError(err)}`);
    return undefined;
  });
  const { bucket } = deps.cluster.objectStore;
  const started = performance.now();
  let count = 0;
  let listPageSeconds: number | undefined;
  let complete = true;
  let fromManifest: BackupManifest | undefined;
  try {
    for await (const _object of listObjects(deps.clusterS3, bucket, storeKeyPrefix(deps.cluster.objectStore), { pageSize, ...(options.signal ? { signal: options.signal } : {}) })) {
      count += 1;
      if (count === pageSize) {
        // The first page's time includes connecting to the store: a slightly slow rate, the safe side.
        listPageSeconds = (performance.now() - started) / 1000;
        // More than a page: counting them all may take long; the last manifest's count will do if there is one.
        fromManifest = await manifest;
        if (fromManifest) {
          complete = false;
          break;
        }
      }
      if (count >= maxKeys || (count >= pageSize && performance.now() - started >= budgetMs)) {
        complete = false;
        break;
      }
    }
  } catch (err) {
    if (err instanceof PachbackupError && err.code === 'cancelled') throw err;
    warnings.push(`could not list s3://${bucket}: ${describeError(err)}`);
    fromManifest = await manifest;
    return fromManifest ? { objects: { count: fromManifest.objects.count, source: 'manifest', backupId: fromManifest.id } } : {};
  }
  listPageSeconds ??= (performance.now() - started) / 1000;
  // Settled before returning even when not needed: nothing of the probe outlives it (the caller may close the clients).
  await manifest;
  if (complete) return { objects: { count, source: 'listing' }, listPageSeconds };
  if (fromManifest) {
    return { objects: { count: Math.max(count, fromManifest.objects.count), source: 'manifest', backupId: fromManifest.id }, listPageSeconds };
  }
  warnings.push(`counted the first ${count} objects of s3://${bucket} and stopped: the count is a lower bound`);
  return { objects: { count, source: 'partial-listing' }, listPageSeconds };
}

/** Database sizes on the server, asked through the first configured database that answers (as preflight does). */
async function probeDatabases(deps: ProbeDeps, options: ProbeOptions, warnings: string[]): Promise<{ name: string; bytes: number | null }[] | undefined> {
  const { postgres } = deps.cluster;
  const failures: string[] = [];
  for (const database of postgres.databases) {
    try {
      const server = await inspectServer(postgres, database, options.signal ? { signal: options.signal } : {});
      for (const db of server.databases) if (!db.exists) warnings.push(`PostgreSQL database "${db.name}" does not exist on ${postgres.host}`);
      return server.databases.map((d) => ({ name: d.name, bytes: d.bytes }));
    } catch (err) {
      if (err instanceof PachbackupError && err.code === 'cancelled') throw err;
      failures.push(`${database}: ${describeError(err)}`);
    }
  }
  warnings.push(`could not read the database sizes from ${postgres.host}:${postgres.port} (${failures.join('; ')})`);
  return undefined;
}

/**
 * Measures the coming backup of a cluster cheaply and without side effects, all parts at once: the replicas
 * the pause would stop (one workload snapshot) and how fast the cluster starts and stops pods (their status
 * conditions and grace periods), the databases' sizes (`pg_database_size`) and whether their dumps can leave
 * the pause (a snapshot exported and imported), the objects in the cluster bucket (listed when that is quick,
 * else the latest manifest's count), and how fast the bucket lists.
 * Takes about as long as its slowest part: a few round trips, one listing page — well under 2 s on the
 * sandbox; with no manifest and a large bucket, up to `listBudgetMs` more.
 */
export async function probeUpcomingBackup(deps: ProbeDeps, options: ProbeOptions = {}): Promise<UpcomingBackup> {
  const started = performance.now();
  const warnings: string[] = [];
  const [replicas, databases, listing, pace, snapshotPath] = await Promise.all([
    deps.workloads.snapshot().then(
      (s): WorkloadReplicas => ({ pachd: s.pachd, deployments: s.deployments, workers: s.workers }),
      (err: unknown) => {
        warnings.push(`could not read Pachyderm's workloads: ${describeError(err)}`);
        return undefined;
      },
    ),
    probeDatabases(deps, options, warnings),
    probeObjects(deps, options, warnings),
    deps.workloads.podPace().then(
      ({ pods: _pods, ...pace }): ClusterPace => pace,
      (err: unknown) => {
        warnings.push(`could not read how fast the pods start: ${describeError(err)}`);
        return undefined;
      },
    ),
    probeSnapshotPath(deps.cluster.postgres, deps.cluster.postgres.databases),
  ]);
  if (!snapshotPath.usable) warnings.push(`the dumps will be taken while paused: ${snapshotPath.reason}`);
  const sizes: Partial<DowntimeSizes> = {};
  if (replicas) sizes.pods = podsOf(replicas);
  if (databases) sizes.databaseBytes = databases.reduce((n, d) => n + (d.bytes ?? 0), 0);
  if (listing.objects) sizes.objects = listing.objects.count;
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const listMeasured = listing.listPageSeconds !== undefined && listing.listPageSeconds > 0;
  return {
    sizes,
    ...(replicas ? { replicas } : {}),
    databases: databases ?? [],
    ...(listing.objects ? { objects: listing.objects } : {}),
    throughput: {
      listObjectsPerSecond: listMeasured ? pageSize / listing.listPageSeconds! : DEFAULT_THROUGHPUT.listObjectsPerSecond,
      dumpBytesPerSecond: options.dumpBytesPerSecond ?? DEFAULT_THROUGHPUT.dumpBytesPerSecond,
      listConcurrency: deps.cluster.backup.listConcurrency,
      snapshotsUsable: snapshotPath.usable,
      ...(pace ? { pace } : {}),
      ...(listing.listPageSeconds !== undefined ? { listPageSeconds: listing.listPageSeconds } : {}),
      measured: { list: listMeasured, dump: false },
    },
    warnings,
    probeMs: performance.now() - started,
  };
}
