import { CreateBucketCommand, DeleteObjectsCommand, HeadBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { throwIfCancelled } from '../object-store/abort-link.js';
import type { ConcurrencyLimit } from '../object-store/concurrency-limit.js';
import { createObjectCopier, type CopyCapabilities, type CopyEndpoint } from '../object-store/copy-object.js';
import type { InventoryEntry } from '../object-store/inventory-entry.js';
import { entriesInKeyRange, type KeyRange } from '../object-store/key-ranges.js';
import { listObjects } from '../object-store/list-objects.js';
import { mergeByKey } from '../object-store/merge-by-key.js';
import { storeKeyPrefix } from '../object-store/pool-keys.js';
import { createProgressThrottle } from '../object-store/progress-throttle.js';
import { isNotFound, toStoreError } from '../object-store/store-error.js';
import { withTaskPool } from '../object-store/task-pool.js';

/** `s3://bucket/prefix/` for messages. */
export function describeStore(store: Pick<ObjectStoreConfig, 'bucket' | 'prefix' | 'endpoint'>): string {
  return `s3://${store.bucket}/${storeKeyPrefix(store)}${store.endpoint ? ` at ${store.endpoint}` : ''}`;
}

/** What copying an inventory into a target did. `objects = copied + skipped`. */
export interface InventoryCopyCounts {
  objects: number;
  bytes: number;
  copied: number;
  copiedBytes: number;
  /** Already in the target with the inventory's size: not copied again. */
  skipped: number;
  /** In the target with another size and replaced (only with `overwrite`). */
  replaced: number;
  durationMs: number;
}

/** Progress of a copy so far. */
export interface InventoryCopyProgress {
  seen: number;
  seenBytes: number;
  copied: number;
  copiedBytes: number;
  skipped: number;
  replaced: number;
}

/**
 * Copies every object an inventory names from the backup store (its `storeKey`) into the target store, at
 * `<target prefix>/<key>` — the key Pachyderm wrote it under — and only what the target lacks: the inventory
 * (ascending key) is merge-joined with one listing of the target, and an object already there with the same size
 * is skipped, so a re-run after a failure copies only what is still missing. An object there with another size
 * is replaced when `overwrite` is set and is a 'conflict' otherwise. Copies run `concurrency` at a time through
 * `createObjectCopier` (server-side where both stores are one service, multipart above the threshold); memory
 * stays flat. The first failure stops the copy and is thrown.
 */
export async function copyInventoryObjects(options: {
  source: CopyEndpoint;
  target: CopyEndpoint;
  entries: AsyncIterable<InventoryEntry>;
  overwrite: boolean;
  concurrency: number;
  /** Copies this process has in flight, shared with its other key ranges (see SyncToPoolOptions.copySlots). */
  copySlots?: ConcurrencyLimit;
  multipartThreshold?: number;
  capabilities?: CopyCapabilities;
  /** Only the inventory's keys in this range (one child of a fanned-out restore); default: every key. */
  range?: KeyRange;
  signal?: AbortSignal;
  onProgress?: (progress: InventoryCopyProgress) => void;
}): Promise<InventoryCopyCounts> {
  const started = performance.now();
  const { source, target, signal } = options;
  const prefix = storeKeyPrefix(target.store);
  const what = `copying the backup's objects into ${describeStore(target.store)}`;
  throwIfCancelled(signal, what);
  const copier = createObjectCopier({
    source,
    target,
    ...(options.multipartThreshold ? { multipartThreshold: options.multipartThreshold } : {}),
    ...(options.capabilities ? { capabilities: options.capabilities } : {}),
  });
  const counts = { objects: 0, bytes: 0, copied: 0, copiedBytes: 0, skipped: 0, replaced: 0 };
  const progress = createProgressThrottle(
    () => ({ seen: counts.objects, seenBytes: counts.bytes, copied: counts.copied, copiedBytes: counts.copiedBytes, skipped: counts.skipped, replaced: counts.replaced }),
    options.onProgress,
  );
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  await withTaskPool({ concurrency, ...(signal ? { signal } : {}), ...(options.copySlots ? { shared: options.copySlots } : {}), what }, async (tasks, runSignal) => {
    const range = options.range;
    const listing = listObjects(target.s3, target.store.bucket, prefix, { signal: runSignal, ...(range ? { range } : {}) });
    const entries = range ? entriesInKeyRange(options.entries, range, 'inventory') : options.entries;
    for await (const { left: entry, right: present } of mergeByKey(entries, listing, { left: 'inventory', right: 'target bucket listing' })) {
      if (tasks.failure) throw tasks.failure.error;
      counts.objects += 1;
      counts.bytes += entry.size;
      if (present && present.size === entry.size) {
        counts.skipped += 1;
        progress.changed();
        continue;
      }
      if (present && !options.overwrite) {
        throw new PachbackupError('conflict', `s3://${target.store.bucket}/${prefix}${entry.key} holds ${present.size} bytes; the backup's object has ${entry.size}`, {
          hint: 'restore into an empty bucket, or allow overwriting',
        });
      }
      const replacing = present !== undefined;
      await tasks.submit(async (taskSignal) => {
        await copier.copy({ sourceKey: entry.storeKey, targetKey: `${prefix}${entry.key}`, size: entry.size, etag: '' }, { signal: taskSignal });
        counts.copied += 1;
        counts.copiedBytes += entry.size;
        if (replacing) counts.replaced += 1;
        progress.changed();
      });
    }
  });
  progress.flush();
  return { ...counts, durationMs: Math.round(performance.now() - started) };
}

/** What checking an inventory against a target found; up to 20 keys of each problem are named. */
export interface LandedCheck {
  checked: number;
  missingCount: number;
  wrongSizeCount: number;
  missing: string[];
  wrongSize: string[];
}

/**
 * Checks that every inventory object is in the target store at `<prefix>/<key>` with its size — one listing
 * merge-joined with the inventory, no per-object requests.
 */
export async function checkInventoryLanded(options: { target: CopyEndpoint; entries: AsyncIterable<InventoryEntry>; signal?: AbortSignal }): Promise<LandedCheck> {
  const { target, signal } = options;
  const result: LandedCheck = { checked: 0, missingCount: 0, wrongSizeCount: 0, missing: [], wrongSize: [] };
  const listing = listObjects(target.s3, target.store.bucket, storeKeyPrefix(target.store), signal ? { signal } : {});
  for await (const { left: entry, right: present } of mergeByKey(options.entries, listing, { left: 'inventory', right: 'target bucket listing' })) {
    result.checked += 1;
    if (!present) {
      result.missingCount += 1;
      if (result.missing.length < 20) result.missing.push(entry.key);
    } else if (present.size !== entry.size) {
      result.wrongSizeCount += 1;
      if (result.wrongSize.length < 20) result.wrongSize.push(entry.key);
    }
  }
  return result;
}

/** Whether a bucket exists (HeadBucket); 'forbidden' and other failures are thrown. */
export async function bucketExists(s3: S3Client, bucket: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw toStoreError(err, `checking bucket s3://${bucket}`, signal);
  }
}

/** Creates the bucket unless it exists. Returns true when it was created now. */
export async function ensureBucket(s3: S3Client, bucket: string, signal?: AbortSignal): Promise<boolean> {
  if (await bucketExists(s3, bucket, signal)) return false;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }), { abortSignal: signal });
    return true;
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'BucketAlreadyOwnedByYou') return false;
    throw toStoreError(err, `creating bucket s3://${bucket}`, signal);
  }
}

/** A look at what a store holds under its prefix: nothing, or at least one object (named, for messages). */
export async function firstObjectUnder(s3: S3Client, store: Pick<ObjectStoreConfig, 'bucket' | 'prefix'>, signal?: AbortSignal): Promise<{ key: string; page: number } | undefined> {
  const prefix = storeKeyPrefix(store);
  try {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: prefix === '' ? undefined : prefix, MaxKeys: 1000 }), { abortSignal: signal });
    const first = page.Contents?.[0]?.Key;
    return first ? { key: first, page: page.Contents?.length ?? 0 } : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw toStoreError(err, `listing s3://${store.bucket}/${prefix}`, signal);
  }
}

/**
 * Deletes every object under `prefix` in `bucket` — only for scratch areas pachbackup made itself (a drill's
 * `<prefix>/drills/<id>/`). The prefix must be a non-empty folder ("…/"): an empty one would mean the whole bucket.
 * Returns how many objects were deleted.
 */
export async function deleteObjectsUnder(s3: S3Client, bucket: string, prefix: string, signal?: AbortSignal): Promise<number> {
  if (prefix === '' || !prefix.endsWith('/')) throw new PachbackupError('internal', `refusing to delete under "${prefix}": not a scratch folder`);
  let deleted = 0;
  for (;;) {
    const page = await s3
      .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000 }), { abortSignal: signal })
      .catch((err: unknown) => {
        throw toStoreError(err, `listing s3://${bucket}/${prefix}`, signal);
      });
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length === 0) return deleted;
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }), { abortSignal: signal }).catch((err: unknown) => {
      throw toStoreError(err, `deleting under s3://${bucket}/${prefix}`, signal);
    });
    if (out.Errors && out.Errors.length > 0) {
      throw new PachbackupError('unavailable', `could not delete ${out.Errors.length} objects under s3://${bucket}/${prefix} (first: ${out.Errors[0]?.Key}: ${out.Errors[0]?.Message})`, { retryable: true });
    }
    deleted += keys.length;
  }
}
