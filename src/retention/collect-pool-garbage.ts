import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BackupManifest } from '../catalog/manifest.js';
import type { ObjectStoreConfig } from '../config/config.js';
import { readInventory } from '../object-store/inventory.js';
import { listObjects } from '../object-store/list-objects.js';
import { mergeByKey } from '../object-store/merge-by-key.js';
import { listPool } from '../object-store/pool-listing.js';
import { CONFLICT_FOLDER, poolKey, poolPrefix } from '../object-store/pool-keys.js';
import { unionKeys } from './union-by-key.js';

export interface GarbageResult {
  /** Pool objects no kept backup references (deleted unless dry run). */
  objects: number;
  bytes: number;
  /** Up to 20 of their keys, for a dry run to show. */
  sample: string[];
}

/**
 * Deletes from the object pool every object that no kept backup's inventory references — and nothing else.
 * The pool listing is merge-joined with the union of the kept inventories (all sorted by key), so memory stays
 * flat; conflict locations (rare) are matched by their full store key. Must run under the cluster lock: a
 * backup's pre-copy puts objects in the pool before its inventory exists.
 */
export async function collectPoolGarbage(options: {
  s3: S3Client;
  store: ObjectStoreConfig;
  kept: BackupManifest[];
  dryRun: boolean;
  signal?: AbortSignal;
}): Promise<GarbageResult> {
  const { s3, store, kept, dryRun, signal } = options;
  const result: GarbageResult = { objects: 0, bytes: 0, sample: [] };
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

  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0 || dryRun) return void (batch = []);
    const keys = batch;
    batch = [];
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: store.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }), { abortSignal: signal });
    if (res.Errors?.length) throw new Error(`could not delete ${res.Errors.length} pool objects: ${res.Errors[0]?.Key} ${res.Errors[0]?.Message}`);
  };
  const drop = async (key: string, size: number) => {
    result.objects += 1;
    result.bytes += size;
    if (result.sample.length < 20) result.sample.push(key);
    batch.push(key);
    if (batch.length >= 1000) await flush();
  };

  for await (const { left, right } of mergeByKey(listPool(s3, store, signal ? { signal } : {}), unionKeys(inventories), { left: 'pool listing', right: 'kept inventories' })) {
    if (!right) await drop(poolKey(store, left.key), left.size);
  }
  const conflictPrefix = `${poolPrefix(store)}${CONFLICT_FOLDER}/`;
  for await (const object of listObjects(s3, store.bucket, conflictPrefix, signal ? { signal } : {})) {
    const key = `${conflictPrefix}${object.key}`;
    if (!referencedConflicts.has(key)) await drop(key, object.size);
  }
  await flush();
  return result;
}
