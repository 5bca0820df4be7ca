import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BackupManifest } from '../catalog/manifest.js';
import type { ObjectStoreConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { readInventory } from '../object-store/inventory.js';
import { listObjects } from '../object-store/list-objects.js';
import { mergeByKey } from '../object-store/merge-by-key.js';
import { listPool } from '../object-store/pool-listing.js';
import { CONFLICT_FOLDER, poolKey, poolPrefix } from '../object-store/pool-keys.js';
import { unionKeys } from './union-by-key.js';

/** What a pool garbage collection deleted (or, in a dry run, would delete), kept, or why it left the pool alone. */
export interface GarbageResult {
  /** Pool objects no kept backup references and older than the grace period: deleted (in a dry run: found). */
  objects: number;
  bytes: number;
  /** Up to 20 of their keys, for a dry run to show. */
  sample: string[];
  /** Objects no kept backup references yet, kept because they are younger than the grace period. */
  young: number;
  /** Why the pool was left alone — from the start, or from some point on (what was deleted before is counted). */
  skipped?: string;
}

/**
 * Deletes from the object pool every object that no kept backup's inventory references and that is older than
 * `olderThan` — and nothing else. `kept` must be every complete backup that uses the pool (of every cluster
 * sharing the store); the grace period spares what a backup still copying has put there before its manifest
 * exists. The pool listing is merge-joined with the union of the kept inventories (all sorted by key), so
 * memory stays flat; conflict locations (rare) are matched by their full store key. `beforeDelete` runs before
 * each batch is deleted (to renew a lease, to stop when a backup has started meanwhile: it throws then).
 */
export async function collectPoolGarbage(options: {
  s3: S3Client;
  store: ObjectStoreConfig;
  kept: BackupManifest[];
  olderThan: Date;
  dryRun: boolean;
  beforeDelete?: () => Promise<string | undefined>;
  signal?: AbortSignal;
}): Promise<GarbageResult> {
  const { s3, store, kept, dryRun, signal } = options;
  const cutoff = options.olderThan.getTime();
  const result: GarbageResult = { objects: 0, bytes: 0, sample: [], young: 0 };
  const read = (m: BackupManifest) => readInventory({ s3, bucket: store.bucket, key: m.objects.inventory.key, expectedSha256: m.objects.inventory.sha256, ...(signal ? { signal } : {}) });
  // First pass: the conflict locations kept backups use (rare, so a set is small).
  const referencedConflicts = new Set<string>();
  for (const m of kept) {
    for await (const entry of read(m)) if (entry.storeKey !== poolKey(store, entry.key)) referencedConflicts.add(entry.storeKey);
  }
  const inventories = kept.map((m) =>
    (async function* () {
      for await (const entry of read(m)) if (entry.storeKey === poolKey(store, entry.key)) yield { key: entry.key };
    })(),
  );

  let batch: { key: string; size: number }[] = [];
  const count = (objects: { size: number }[]) => {
    result.objects += objects.length;
    result.bytes += objects.reduce((sum, o) => sum + o.size, 0);
  };
  /** Deletes the batch; false when `beforeDelete` said to stop (nothing more is deleted then). */
  const flush = async (): Promise<boolean> => {
    const objects = batch;
    batch = [];
    if (objects.length === 0) return true;
    if (dryRun) {
      count(objects);
      return true;
    }
    const stop = await options.beforeDelete?.();
    if (stop !== undefined) {
      result.skipped = stop;
      return false;
    }
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: store.bucket, Delete: { Objects: objects.map((o) => ({ Key: o.key })), Quiet: true } }), { abortSignal: signal });
    if (res.Errors?.length) throw new PachbackupError('unavailable', `could not delete ${res.Errors.length} pool objects: ${res.Errors[0]?.Key} ${res.Errors[0]?.Message}`, { retryable: true });
    count(objects);
    return true;
  };
  /** Marks an unreferenced object for deletion if it is past the grace period; false when the collection stopped. */
  const drop = async (key: string, size: number, lastModified: Date | undefined): Promise<boolean> => {
    // No date: treated as written now (kept), never as old.
    if ((lastModified?.getTime() ?? Number.POSITIVE_INFINITY) >= cutoff) {
      result.young += 1;
      return true;
    }
    if (result.sample.length < 20) result.sample.push(key);
    batch.push({ key, size });
    return batch.length < 1000 || (await flush());
  };

  for await (const { left, right } of mergeByKey(listPool(s3, store, signal ? { signal } : {}), unionKeys(inventories), { left: 'pool listing', right: 'kept inventories' })) {
    if (!right && !(await drop(poolKey(store, left.key), left.size, left.lastModified))) return result;
  }
  const conflictPrefix = `${poolPrefix(store)}${CONFLICT_FOLDER}/`;
  for await (const object of listObjects(s3, store.bucket, conflictPrefix, signal ? { signal } : {})) {
    const key = `${conflictPrefix}${object.key}`;
    if (!referencedConflicts.has(key) && !(await drop(key, object.size, object.lastModified))) return result;
  }
  await flush();
  return result;
}
