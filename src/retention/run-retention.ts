import { DeleteObjectsCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { hostname } from 'node:os';
import { backupFiles, backupFolder, clusterBackupsPrefix, storePath } from '../catalog/backup-layout.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ClusterConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { listObjects } from '../object-store/list-objects.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import { collectPoolGarbage, type GarbageResult } from './collect-pool-garbage.js';
import { planRetention, type RetentionPlan } from './plan-retention.js';
import { poolsInUse } from './pool-in-use.js';
import { listStoreBackups, type UnfinishedBackup } from './store-backups.js';
import { acquireStoreLease, type StoreLease } from './store-lease.js';

export interface RetentionResult {
  cluster: string;
  dryRun: boolean;
  plan: RetentionPlan;
  /** Folders without a manifest (failed backups) past `incompleteAfterHours`. */
  incomplete: string[];
  pool: GarbageResult;
}

/** Deletes everything of one backup: the manifest first, so it stops being listed as complete before anything else goes. */
export async function deleteBackupFolder(s3: S3Client, cluster: ClusterConfig, id: string): Promise<void> {
  const store = cluster.backupStore;
  await s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: backupFiles.manifest(store, cluster.name, id) }));
  const folder = `${backupFolder(store, cluster.name, id)}/`;
  let keys: string[] = [];
  const flush = async () => {
    if (keys.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: store.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
    keys = [];
  };
  for await (const object of listObjects(s3, store.bucket, folder)) {
    keys.push(`${folder}${object.key}`);
    if (keys.length >= 1000) await flush();
  }
  await flush();
}

/** The newest write in a backup folder: how old a manifest-less folder is. */
async function newestWrite(s3: S3Client, bucket: string, folder: string): Promise<number> {
  let newest = 0;
  for await (const object of listObjects(s3, bucket, folder)) newest = Math.max(newest, object.lastModified?.getTime() ?? 0);
  return newest;
}

/** Who takes the store's lease: this process, for this cluster. */
function leaseOwner(cluster: string): string {
  return `pachbackup on ${hostname()} (pid ${process.pid}) for cluster ${cluster}`;
}

/**
 * Applies the cluster's retention policy, under the cluster lock so no backup of it runs meanwhile: deletes the
 * backups the policy does not keep (pinned ones and the newest are always kept), removes failed backups' folders
 * past `incompleteAfterHours`, then collects the pool's garbage (see `collectSharedPool`). A dry run reports the
 * same without deleting anything.
 */
export async function runRetention(options: {
  cluster: ClusterConfig;
  s3: S3Client;
  catalog: Catalog;
  locks: ClusterLocks;
  requestedBy: string;
  dryRun: boolean;
  now?: Date;
  /** How long to wait for the store's lease to settle (see `acquireStoreLease`). */
  leaseSettleMs?: number;
}): Promise<RetentionResult> {
  const { cluster, s3, catalog, dryRun } = options;
  const now = options.now ?? new Date();
  const lock = await options.locks.acquire(cluster.name, { runId: `retention-${now.getTime()}`, kind: 'retention', requestedBy: options.requestedBy });
  try {
    const { backups, incomplete } = await catalog.list(cluster.name);
    const plan = planRetention(
      backups.map((b) => ({ id: b.manifest.id, completedAt: b.manifest.completedAt, pinned: b.pin !== undefined })),
      cluster.retention,
      now,
    );
    const stale: string[] = [];
    for (const id of incomplete) {
      const age = now.getTime() - (await newestWrite(s3, cluster.backupStore.bucket, `${clusterBackupsPrefix(cluster.backupStore, cluster.name)}${id}/`));
      if (age > cluster.retention.incompleteAfterHours * 3_600_000) stale.push(id);
    }
    if (!dryRun) {
      for (const { id } of plan.remove) await deleteBackupFolder(s3, cluster, id);
      for (const id of stale) await deleteBackupFolder(s3, cluster, id);
    }
    const pool = await collectSharedPool({
      s3,
      cluster,
      now,
      dryRun,
      // In a dry run, what the real run deletes first is not there any more when it collects.
      gone: new Set([...plan.remove.map((r) => `${cluster.name}/${r.id}`), ...stale.map((id) => `${cluster.name}/${id}`)]),
      ...(options.leaseSettleMs !== undefined ? { leaseSettleMs: options.leaseSettleMs } : {}),
    });
    return { cluster: cluster.name, dryRun, plan, incomplete: stale, pool };
  } finally {
    await lock.release();
  }
}

/**
 * Garbage collection of a backup store's pool, which every cluster whose backup store is the same bucket and
 * prefix shares — including clusters of other pachbackup deployments, which share nothing but the store with this
 * one. So everything it goes by is read from the store itself:
 * - it leaves the pool alone while a cluster runs on it in place (`<prefix>/pool-in-use/`, see markPoolInUse);
 * - it runs under a store-wide lease kept in the store (`<prefix>/locks/pool-gc.json`, see acquireStoreLease),
 *   so two collections never interleave;
 * - it keeps every object that any complete backup found under the prefix references, whatever its cluster;
 * - it deletes only objects older than the grace period (`retention.poolGraceHours`): a backup still copying has
 *   no manifest yet;
 * - it leaves the pool alone while a backup folder of any cluster without a manifest was written to within the
 *   grace period (a backup running — one that found an old object in the pool did not copy it again and will
 *   reference it), checking again before each batch it deletes.
 */
async function collectSharedPool(options: { s3: S3Client; cluster: ClusterConfig; now: Date; dryRun: boolean; gone: Set<string>; leaseSettleMs?: number }): Promise<GarbageResult> {
  const { s3, cluster, now, dryRun, gone } = options;
  const store = cluster.backupStore;
  const where = `s3://${store.bucket}/${storePath(store, 'objects')}/`;
  const graceMs = cluster.retention.poolGraceHours * 3_600_000;
  const olderThan = new Date(now.getTime() - graceMs);
  const skipped = (reason: string): GarbageResult => ({ objects: 0, bytes: 0, sample: [], young: 0, skipped: reason });

  const inUse = await poolsInUse(s3, store);
  if (inUse.length > 0) {
    return skipped(
      inUse
        .map((r) => `cluster ${r.cluster} runs on the pool ${where} in place (restore ${r.restoreId} of ${r.backupId}, since ${r.since}, recorded at s3://${store.bucket}/${r.key}); once it runs elsewhere: pachbackup release-pool --cluster ${r.cluster}`)
        .join('; '),
    );
  }
  let lease: StoreLease;
  try {
    lease = await acquireStoreLease({
      s3,
      store,
      name: 'pool-gc',
      owner: leaseOwner(cluster.name),
      purpose: 'pool garbage collection',
      ...(options.leaseSettleMs !== undefined ? { settleMs: options.leaseSettleMs } : {}),
    });
  } catch (err) {
    // Another deployment (or process) is collecting this pool right now: its collection covers ours.
    if (err instanceof PachbackupError && err.code === 'conflict') return skipped(err.message);
    throw err;
  }
  try {
    const running = async () => {
      const { complete, unfinished } = await listStoreBackups(s3, store);
      const recent = unfinished.filter((u) => !gone.has(`${u.cluster}/${u.id}`) && u.lastWrite.getTime() > olderThan.getTime());
      return { complete: complete.filter((m) => !gone.has(`${m.cluster}/${m.id}`)), recent };
    };
    const describeRunning = (recent: UnfinishedBackup[]) =>
      `a backup may be running into this store: ${recent.map((u) => `${u.cluster}/${u.id} (last written ${u.lastWrite.toISOString()})`).join(', ')} has no manifest and was written to within the grace period of ${cluster.retention.poolGraceHours} h`;
    const { complete, recent } = await running();
    if (recent.length > 0) return skipped(describeRunning(recent));
    // With no complete backup at all the store may be read in the wrong place (a changed prefix): leave the pool alone.
    if (complete.length === 0) return skipped(`no complete backup found under s3://${store.bucket}/${storePath(store, 'backups')}/`);
    return await collectPoolGarbage({
      s3,
      store,
      kept: complete,
      olderThan,
      dryRun,
      beforeDelete: async () => {
        try {
          await lease.renew();
        } catch (err) {
          if (err instanceof PachbackupError && err.code === 'conflict') return `stopped: ${err.message}`;
          throw err;
        }
        const again = await running();
        return again.recent.length > 0 ? `stopped: ${describeRunning(again.recent)}` : undefined;
      },
    });
  } finally {
    await lease.release();
  }
}
