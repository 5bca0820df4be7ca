import { PachbackupError } from '../errors.js';
import { throwIfCancelled } from './abort-link.js';
import { DEFAULT_COPY_CONCURRENCY } from './copy-concurrency.js';
import { createObjectCopier, type CopyCapabilities, type CopyEndpoint, type CopyWarning } from './copy-object.js';
import type { InventoryEntry } from './inventory-entry.js';
import type { KeyRange } from './key-ranges.js';
import { listObjects, type ListedObject } from './list-objects.js';
import { mergeByKey } from './merge-by-key.js';
import { conflictKey, isInConflictArea, poolKey, poolPrefix, storeKeyPrefix } from './pool-keys.js';
import { listPool } from './pool-listing.js';
import { createProgressThrottle } from './progress-throttle.js';
import { createListingPartWriter, readListingPart, type ListingPartWriter, type SavedListing } from './saved-listing.js';
import { storedSize } from './stored-size.js';
import { syncResultOf, type SyncProgress, type SyncResult } from './sync-to-pool.js';
import { withTaskPool, type PoolTask, type TaskPool } from './task-pool.js';

/** What a range sync needs. */
export interface SyncRangesOptions {
  source: CopyEndpoint;
  target: CopyEndpoint;
  /** Disjoint key ranges, in key order, that together cover every key (see `splitKeySpace`). */
  ranges: KeyRange[];
  /**
   * What the last pass saw (its ranges must be `ranges`): each range of the cluster bucket is compared with it
   * instead of with a listing of the pool. Without it, each range is compared with the pool's listing.
   */
  previous?: SavedListing;
  /** Where this pass writes its own listing (a fresh directory). */
  outputDir: string;
  /**
   * About how many objects the cluster bucket holds, when there is no `previous` listing to tell each range's
   * count: each range's listing then expects its even share (see `ListObjectsOptions.expectedKeys`).
   */
  expectedObjects?: number;
  /**
   * Write the listing uncompressed (default: compressed) — the pause's listing, where CPU time is outage; the
   * inventory upload compresses it.
   */
  compressListing?: boolean;
  /** Ranges listed at once (default: all of them). */
  listConcurrency?: number;
  /** Objects copied at once (default DEFAULT_COPY_CONCURRENCY). */
  concurrency?: number;
  multipartThreshold?: number;
  capabilities?: CopyCapabilities;
  pageSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: SyncProgress) => void;
  onWarning?: (warning: CopyWarning) => void;
}

/**
 * Copies every object of the cluster bucket that the backup store lacks, range by range with ranges listed in
 * parallel — so listing N keys takes about N / (1000 × ranges at once) request times instead of N / 1000 — and
 * writes what it saw (every object and where its bytes are in the store) as a SavedListing.
 *
 * Each range of the cluster bucket is merge-joined (both sides in key order; memory flat) with what is known:
 * - `previous` given (a later pass, or the pause): its entries. An object listed there with the same size and
 *   ETag keeps its store key and is not copied; any other object arrived since (or changed): the pool is asked
 *   about its key (HeadObject — few objects) and it is copied unless the pool holds it with that size, to its
 *   conflict location when the pool holds other bytes under the key. The pool is never listed.
 * - no `previous` (a first pass): the pool's listing of the same range, as `syncToPool` does it.
 * Nothing in the backup store is overwritten or deleted. The first failure stops every range and every copy
 * and is thrown (PachbackupError; 'cancelled' when `signal` aborts); the listing is complete only on success.
 */
export async function syncRangesToPool(options: SyncRangesOptions): Promise<SyncResult & { listing: SavedListing }> {
  const started = performance.now();
  const { source, target, signal, ranges, previous } = options;
  const sourcePrefix = storeKeyPrefix(source.store);
  const what = `copying s3://${source.store.bucket}/${sourcePrefix} into the pool s3://${target.store.bucket}/${poolPrefix(target.store)}`;
  throwIfCancelled(signal, what);
  if (previous && previous.ranges.length !== ranges.length) {
    throw new PachbackupError('internal', `the previous listing has ${previous.ranges.length} ranges, this pass ${ranges.length}`);
  }
  const copier = createObjectCopier({ source, target, multipartThreshold: options.multipartThreshold, capabilities: options.capabilities, onWarning: options.onWarning });
  const counts = { listed: 0, listedBytes: 0, copied: 0, copiedBytes: 0, copying: 0, copyingBytes: 0, skipped: 0, conflicts: 0 };
  const snapshot = (done: boolean): SyncProgress => ({ ...counts, done });
  const progress = createProgressThrottle(() => snapshot(false), options.onProgress);

  const copyTo =
    (object: ListedObject, storeKey: string): PoolTask =>
    async (taskSignal) => {
      counts.copying += 1;
      counts.copyingBytes += object.size;
      try {
        await copier.copy({ sourceKey: sourcePrefix + object.key, targetKey: storeKey, size: object.size, etag: object.etag }, { signal: taskSignal });
        counts.copied += 1;
        counts.copiedBytes += object.size;
      } finally {
        counts.copying -= 1;
        counts.copyingBytes -= object.size;
        progress.changed();
      }
    };

  /** Where an object the pool may or may not hold goes, asking the pool; a copy task unless it is there already. */
  const placeUnknown = async (object: ListedObject, runSignal: AbortSignal): Promise<{ storeKey: string; task?: PoolTask }> => {
    const pooled = poolKey(target.store, object.key);
    const stored = isInConflictArea(object.key) ? undefined : await storedSize(target.s3, target.store.bucket, pooled, runSignal);
    if (stored === object.size) return { storeKey: pooled };
    if (stored === undefined && !isInConflictArea(object.key)) return { storeKey: pooled, task: copyTo(object, pooled) };
    counts.conflicts += 1;
    const elsewhere = conflictKey(target.store, object.key, object.etag);
    const there = await storedSize(target.s3, target.store.bucket, elsewhere, runSignal);
    return there === object.size ? { storeKey: elsewhere } : { storeKey: elsewhere, task: copyTo(object, elsewhere) };
  };

  const syncRange = async (index: number, tasks: TaskPool, runSignal: AbortSignal, writer: ListingPartWriter) => {
    const range = ranges[index]!;
    // Each range expects what it held last time (or its share of the estimate): not a page of keys past its end.
    const expectedKeys = previous ? previous.parts[index]!.objects : options.expectedObjects === undefined ? undefined : Math.ceil(options.expectedObjects / ranges.length);
    const listing = listObjects(source.s3, source.store.bucket, sourcePrefix, {
      signal: runSignal,
      range,
      ...(options.pageSize ? { pageSize: options.pageSize } : {}),
      ...(expectedKeys === undefined ? {} : { expectedKeys }),
    });
    const known: AsyncIterable<{ key: string; size: number; etag: string; storeKey?: string }> = previous
      ? readListingPart(previous.parts[index]!.file)
      : listPool(target.s3, target.store, { signal: runSignal, range, ...(options.pageSize ? { pageSize: options.pageSize } : {}) });
    for await (const { left: object, right: seen } of mergeByKey(listing, known, { left: 'cluster bucket listing', right: previous ? 'previous listing' : 'backup pool listing' })) {
      if (tasks.failure) throw tasks.failure.error;
      counts.listed += 1;
      counts.listedBytes += object.size;
      let placed: { storeKey: string; task?: PoolTask };
      if (previous) {
        placed = seen?.storeKey !== undefined && seen.size === object.size && seen.etag === object.etag ? { storeKey: seen.storeKey } : await placeUnknown(object, runSignal);
      } else if (isInConflictArea(object.key) || (seen !== undefined && seen.size !== object.size)) {
        placed = await placeUnknown(object, runSignal);
      } else {
        const pooled = poolKey(target.store, object.key);
        placed = seen !== undefined ? { storeKey: pooled } : { storeKey: pooled, task: copyTo(object, pooled) };
      }
      if (!placed.task) counts.skipped += 1;
      const entry: InventoryEntry = { key: object.key, size: object.size, etag: object.etag, storeKey: placed.storeKey };
      await writer.add(entry);
      if (placed.task) await tasks.submit(placed.task);
      progress.changed();
    }
  };

  const parts: SavedListing['parts'] = new Array(ranges.length);
  const writers: ListingPartWriter[] = [];
  try {
    await withTaskPool({ concurrency: Math.max(1, options.concurrency ?? DEFAULT_COPY_CONCURRENCY), ...(signal ? { signal } : {}), what }, async (tasks, runSignal) => {
      let next = 0;
      const lister = async () => {
        while (next < ranges.length) {
          const index = next++;
          const writer = createListingPartWriter(options.outputDir, index, { compress: options.compressListing !== false });
          writers.push(writer);
          await syncRange(index, tasks, runSignal, writer);
          parts[index] = await writer.close();
        }
      };
      await Promise.all(Array.from({ length: Math.min(ranges.length, Math.max(1, options.listConcurrency ?? ranges.length)) }, lister));
    });
  } catch (err) {
    await Promise.all(writers.map((w) => w.abort()));
    throw err;
  }
  options.onProgress?.(snapshot(true));
  return { ...syncResultOf(counts, started), listing: { dir: options.outputDir, ranges, parts } };
}
