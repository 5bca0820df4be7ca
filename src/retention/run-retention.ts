import { DeleteObjectsCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { backupFiles, backupFolder, clusterBackupsPrefix } from '../catalog/backup-layout.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ClusterConfig } from '../config/config.js';
import { listObjects } from '../object-store/list-objects.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import { collectPoolGarbage, type GarbageResult } from './collect-pool-garbage.js';
import { planRetention, type RetentionPlan } from './plan-retention.js';

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

/**
 * Applies the cluster's retention policy, under the cluster lock so no backup runs meanwhile: deletes the
 * backups the policy does not keep (pinned ones and the newest are always kept), removes failed backups' folders
 * past `incompleteAfterHours`, then deletes pool objects that no kept backup references. A dry run reports the
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
    const removed = new Set(plan.remove.map((r) => r.id));
    const kept = backups.filter((b) => !removed.has(b.manifest.id)).map((b) => b.manifest);
    // With no complete backup at all the catalog may be looking in the wrong place (a changed prefix): leave the pool alone.
    const pool = kept.length > 0 ? await collectPoolGarbage({ s3, store: cluster.backupStore, kept, dryRun }) : { objects: 0, bytes: 0, sample: [] };
    return { cluster: cluster.name, dryRun, plan, incomplete: stale, pool };
  } finally {
    await lock.release();
  }
}
