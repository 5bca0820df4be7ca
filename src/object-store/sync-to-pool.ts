import { PachbackupError } from '../errors.js';
import { throwIfCancelled } from './abort-link.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';
import { DEFAULT_COPY_CONCURRENCY } from './copy-concurrency.js';
import type { ObjectStoreConfig } from '../config/config.js';
import { createObjectCopier, storeService, type CopyCapabilities, type CopyEndpoint, type CopyWarning } from './copy-object.js';
import type { InventoryEntry } from './inventory-entry.js';
import type { KeyRange } from './key-ranges.js';
import { listObjects, type ListedObject } from './list-objects.js';
import { listPool } from './pool-listing.js';
import { mergeByKey } from './merge-by-key.js';
import { conflictKey, isInConflictArea, poolKey, poolPrefix, storeKeyPrefix } from './pool-keys.js';
import { createProgressThrottle } from './progress-throttle.js';
import { storedSize } from './stored-size.js';
import { withTaskPool, type PoolTask } from './task-pool.js';

/** What a sync needs: the cluster bucket (its store's prefix is where Pachyderm's keys start) and the backup store. */
export interface SyncToPoolOptions {
  source: CopyEndpoint;
  target: CopyEndpoint;
  /** Objects copied at once (default 16); listing pauses while four times as many are running or queued. */
  concurrency?: number;
  /**
   * Copies this process has in flight, shared with the other syncs it runs (every key range of a large copy):
   * each copy also waits for a place in it, so ranges side by side do not multiply what the store is asked.
   */
  copySlots?: ConcurrencyLimit;
  /** See ObjectCopierOptions. */
  multipartThreshold?: number;
  partSize?: number;
  partConcurrency?: number;
  capabilities?: CopyCapabilities;
  /** Keys per listing page (default 1000, S3's maximum). */
  pageSize?: number;
  /** Only the cluster keys in this range (one child of a fanned-out copy); default: every key. */
  range?: KeyRange;
  signal?: AbortSignal;
  /** At most every ~250 ms while running, and once at the end with `done: true`. */
  onProgress?: (progress: SyncProgress) => void;
  /**
   * Every object of the cluster bucket, in listing order (ascending key), with where its bytes live in the
   * backup bucket — called before its copy finishes, so an inventory must only be kept if the sync succeeds.
   * Awaited: a slow consumer holds the listing back.
   */
  onObject?: (entry: InventoryEntry) => void | Promise<void>;
  onWarning?: (warning: CopyWarning) => void;
}

/** A sync's progress so far. */
export interface SyncProgress {
  listed: number;
  listedBytes: number;
  copied: number;
  /** Bytes written so far, including finished parts of objects still being copied. */
  copiedBytes: number;
  /** Objects being copied right now, and their total size. */
  copying: number;
  copyingBytes: number;
  skipped: number;
  conflicts: number;
  done: boolean;
}

/** What a finished sync did. `listed = copied + skipped`. */
export interface SyncResult {
  /** Objects (and their bytes) in the cluster bucket. */
  listed: number;
  listedBytes: number;
  /** Objects copied by this run, and their bytes. */
  copied: number;
  copiedBytes: number;
  /** Objects already in the backup store with the same size: not copied again. */
  skipped: number;
  /** Objects whose key the pool holds with other bytes: stored (now or earlier) at a conflict location. */
  conflicts: number;
  durationMs: number;
}

/**
 * Copies every object of the cluster bucket that the backup store's pool does not hold yet, and nothing else.
 *
 * One pass over each listing: the cluster listing and the pool listing (both ascending) are merge-joined, so
 * the whole run holds two listing pages per side and at most `concurrency * 4` copies (running + queued),
 * whatever the number of objects. An object whose key the pool holds with the same size is never copied
 * again; with a different size, both are kept — the pool's bytes untouched, the new ones at the conflict
 * location (checked with HeadObject: conflicts are rare). Nothing in the backup store is ever deleted, and
 * only keys the pool listing did not show are written — safe because one operation per cluster runs at a
 * time (the caller holds the cluster lock). Running it again after a failure copies only what is missing.
 *
 * Done when both listings are exhausted and every copy has completed. The first failed copy stops the run
 * (listing stops, requests in flight are aborted, multipart uploads aborted) and is thrown; an aborted
 * `signal` does the same and throws PachbackupError 'cancelled'. An out-of-order listing throws 'integrity'.
 * Every object written is whole, but a server-side copy the store had already started when its request was
 * aborted may still appear shortly after the throw — aborting a request cannot undo work the store began.
 */
export async function syncToPool(options: SyncToPoolOptions): Promise<SyncResult> {
  const started = performance.now();
  const { source, target, signal } = options;
  const sourcePrefix = storeKeyPrefix(source.store);
  const what = `copying s3://${source.store.bucket}/${sourcePrefix} into the pool s3://${target.store.bucket}/${poolPrefix(target.store)}`;
  throwIfCancelled(signal, what);
  if (poolOverlapsCluster(source.store, target.store)) {
    throw new PachbackupError(
      'config-invalid',
      `the backup pool s3://${target.store.bucket}/${poolPrefix(target.store)} overlaps the cluster's objects s3://${source.store.bucket}/${sourcePrefix}`,
      { hint: "put the backup store in another bucket, or under a prefix outside the cluster store's prefix" },
    );
  }
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_COPY_CONCURRENCY));
  const copier = createObjectCopier({
    source,
    target,
    multipartThreshold: options.multipartThreshold,
    partSize: options.partSize,
    partConcurrency: options.partConcurrency,
    capabilities: options.capabilities,
    onWarning: options.onWarning,
  });

  const counts = { listed: 0, listedBytes: 0, copied: 0, copiedBytes: 0, copying: 0, copyingBytes: 0, partialBytes: 0, skipped: 0, conflicts: 0 };
  const snapshot = (done: boolean): SyncProgress => ({
    listed: counts.listed,
    listedBytes: counts.listedBytes,
    copied: counts.copied,
    copiedBytes: counts.copiedBytes + counts.partialBytes,
    copying: counts.copying,
    copyingBytes: counts.copyingBytes,
    skipped: counts.skipped,
    conflicts: counts.conflicts,
    done,
  });
  const progress = createProgressThrottle(() => snapshot(false), options.onProgress);

  const copyTo =
    (object: ListedObject, storeKey: string): PoolTask =>
    async (taskSignal) => {
      counts.copying += 1;
      counts.copyingBytes += object.size;
      let partial = 0;
      try {
        await copier.copy(
          { sourceKey: sourcePrefix + object.key, targetKey: storeKey, size: object.size, etag: object.etag },
          {
            signal: taskSignal,
            onBytes: (n) => {
              partial += n;
              counts.partialBytes += n;
              progress.changed();
            },
          },
        );
        counts.copied += 1;
        counts.copiedBytes += object.size;
      } finally {
        counts.copying -= 1;
        counts.copyingBytes -= object.size;
        counts.partialBytes -= partial;
        progress.changed();
      }
    };

  const copyUnlessStored =
    (object: ListedObject, storeKey: string): PoolTask =>
    async (taskSignal) => {
      const stored = await storedSize(target.s3, target.store.bucket, storeKey, taskSignal);
      if (stored === undefined) return copyTo(object, storeKey)(taskSignal);
      if (stored === object.size) {
        counts.skipped += 1;
        return;
      }
      throw new PachbackupError(
        'integrity',
        `s3://${target.store.bucket}/${storeKey} holds ${stored} bytes but ${sourcePrefix}${object.key} (ETag ${object.etag}) has ${object.size}`,
        {
          // Same key and ETag with another size: the stored copy is damaged (an interrupted write on a store
          // that keeps partial objects, as s3rver does). Nothing is overwritten automatically.
          hint: 'the stored copy looks damaged; check that no backup inventory references it, delete it, and run the backup again',
        },
      );
    };

  await withTaskPool({ concurrency, ...(signal ? { signal } : {}), ...(options.copySlots ? { shared: options.copySlots } : {}), what }, async (tasks, runSignal) => {
    const listOptions = { signal: runSignal, pageSize: options.pageSize, ...(options.range ? { range: options.range } : {}) };
    const listing = listObjects(source.s3, source.store.bucket, sourcePrefix, listOptions);
    const pool = listPool(target.s3, target.store, listOptions);
    for await (const { left: object, right: pooled } of mergeByKey(listing, pool, { left: 'cluster bucket listing', right: 'backup pool listing' })) {
      if (tasks.failure) throw tasks.failure.error;
      counts.listed += 1;
      counts.listedBytes += object.size;
      let storeKey: string;
      let task: PoolTask | undefined;
      if (isInConflictArea(object.key) || (pooled !== undefined && pooled.size !== object.size)) {
        storeKey = conflictKey(target.store, object.key, object.etag);
        counts.conflicts += 1;
        task = copyUnlessStored(object, storeKey);
      } else if (pooled !== undefined) {
        storeKey = poolKey(target.store, object.key);
        counts.skipped += 1;
      } else {
        storeKey = poolKey(target.store, object.key);
        task = copyTo(object, storeKey);
      }
      if (options.onObject) await options.onObject({ key: object.key, size: object.size, etag: object.etag, storeKey });
      if (task) await tasks.submit(task);
      progress.changed();
    }
  });

  options.onProgress?.(snapshot(true));
  return syncResultOf(counts, started);
}

/** A sync's result from its running counts (what is still in flight left out) and when it started. */
export function syncResultOf(counts: Omit<SyncResult, 'durationMs'>, started: number): SyncResult {
  const { listed, listedBytes, copied, copiedBytes, skipped, conflicts } = counts;
  return { listed, listedBytes, copied, copiedBytes, skipped, conflicts, durationMs: Math.round(performance.now() - started) };
}

/** True when one listing contains the other: the sync would copy the backup into itself, run after run. */
function poolOverlapsCluster(cluster: ObjectStoreConfig, backup: ObjectStoreConfig): boolean {
  if (cluster.bucket !== backup.bucket) return false;
  if (storeService(cluster) !== storeService(backup)) return false;
  const clusterPrefix = storeKeyPrefix(cluster);
  const pool = poolPrefix(backup);
  return clusterPrefix.startsWith(pool) || pool.startsWith(clusterPrefix);
}
