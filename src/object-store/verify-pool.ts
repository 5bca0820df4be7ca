import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../config/config.js';
import { throwIfCancelled } from './abort-link.js';
import type { InventoryEntry } from './inventory-entry.js';
import { compareKeys } from './key-order.js';
import { entriesInKeyRange, type KeyRange } from './key-ranges.js';
import { mergeByKey } from './merge-by-key.js';
import { poolKey, poolPrefix } from './pool-keys.js';
import { listPool } from './pool-listing.js';
import { createProgressThrottle } from './progress-throttle.js';
import { storedSize } from './stored-size.js';
import { withTaskPool } from './task-pool.js';

/** How many keys of each kind of problem a result names (the counts are always complete). */
export const REPORTED_KEYS = 100;
/** HeadObject requests in flight at once, for entries stored at conflict locations. */
const HEAD_CONCURRENCY = 8;

/** What verification found. Problems are named by the entry's cluster key. */
export interface VerifyPoolResult {
  checked: number;
  /** Up to 100 keys whose bytes are not at their store key, in key order. */
  missing: string[];
  /** Up to 100 keys whose store key holds an object of another size, in key order. */
  wrongSize: string[];
  missingCount: number;
  wrongSizeCount: number;
}

/** Verification progress so far. */
export interface VerifyPoolProgress {
  checked: number;
  missingCount: number;
  wrongSizeCount: number;
  done: boolean;
}

/** What verification needs: the backup store and the inventory's entries (ascending key, as written). */
export interface VerifyInventoryObjectsOptions {
  s3: S3Client;
  store: ObjectStoreConfig;
  entries: AsyncIterable<InventoryEntry>;
  signal?: AbortSignal;
  /** At most every ~250 ms while running, and once at the end with `done: true`. */
  onProgress?: (progress: VerifyPoolProgress) => void;
  /** Keys per listing page (default 1000). */
  pageSize?: number;
  /** Only the inventory's keys in this range (one child of a fanned-out verification); default: every key. */
  range?: KeyRange;
}

/**
 * Checks that every object an inventory names is in the backup store at its `storeKey` with its size — the
 * check that a backup can be restored, made with nothing but the backup store. The inventory is merge-joined
 * with one listing of the pool, so ten million entries cost ten thousand list requests, not ten million HEADs;
 * entries whose storeKey is not their pool key (conflict locations, rare) are checked with HeadObject. Memory
 * stays flat. Entries out of key order throw PachbackupError 'integrity'; an aborted signal throws
 * 'cancelled'. Done when every entry has been checked: `checked` is then the number of entries.
 */
export async function verifyInventoryObjects(options: VerifyInventoryObjectsOptions): Promise<VerifyPoolResult> {
  const { s3, store, signal } = options;
  const what = `verifying the pool s3://${store.bucket}/${poolPrefix(store)}`;
  throwIfCancelled(signal, what);
  const result: VerifyPoolResult = { checked: 0, missing: [], wrongSize: [], missingCount: 0, wrongSizeCount: 0 };
  const snapshot = (done: boolean): VerifyPoolProgress => ({
    checked: result.checked,
    missingCount: result.missingCount,
    wrongSizeCount: result.wrongSizeCount,
    done,
  });
  const progress = createProgressThrottle(() => snapshot(false), options.onProgress);
  const record = (entry: InventoryEntry, actualSize: number | undefined) => {
    result.checked += 1;
    if (actualSize === undefined) {
      result.missingCount += 1;
      keepFirst(result.missing, entry.key);
    } else if (actualSize !== entry.size) {
      result.wrongSizeCount += 1;
      keepFirst(result.wrongSize, entry.key);
    }
    progress.changed();
  };

  await withTaskPool({ concurrency: HEAD_CONCURRENCY, ...(signal ? { signal } : {}), what }, async (heads, runSignal) => {
    const range = options.range;
    const pool = listPool(s3, store, { signal: runSignal, pageSize: options.pageSize, ...(range ? { range } : {}) });
    const entries = range ? entriesInKeyRange(options.entries, range, 'inventory') : options.entries;
    for await (const { left: entry, right: pooled } of mergeByKey(entries, pool, { left: 'inventory', right: 'backup pool listing' })) {
      if (heads.failure) throw heads.failure.error;
      if (entry.storeKey === poolKey(store, entry.key)) {
        record(entry, pooled?.size);
      } else {
        await heads.submit(async (taskSignal) => record(entry, await storedSize(s3, store.bucket, entry.storeKey, taskSignal)));
      }
    }
  });
  options.onProgress?.(snapshot(true));
  return result;
}

/**
 * Keeps the REPORTED_KEYS smallest keys. Keys mostly arrive in order (the merge); HEAD-checked ones may come
 * late, hence the insertion rather than a plain "first 100".
 */
function keepFirst(keys: string[], key: string): void {
  if (keys.length >= REPORTED_KEYS && compareKeys(key, keys[keys.length - 1]!) >= 0) return;
  let i = keys.length;
  while (i > 0 && compareKeys(keys[i - 1]!, key) > 0) i -= 1;
  keys.splice(i, 0, key);
  if (keys.length > REPORTED_KEYS) keys.pop();
}
