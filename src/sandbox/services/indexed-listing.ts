import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, posix } from 'node:path';
import { KeyIndex } from './key-index.js';

/** s3rver's listing entry (its models are not exported as a module of their own, and carry no types). */
const S3Object = createRequire(import.meta.url)('s3rver/lib/models/object.js') as new (bucket: string, key: string, content: null, metadata: unknown) => unknown;

/** What of s3rver's FilesystemStore the index wraps (s3rver ships no types). */
interface FilesystemStore {
  getBucketPath(bucket: string): string;
  getMetadata(bucket: string, key: string): Promise<unknown>;
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
  putObject(object: { bucket: string; key: string }): Promise<unknown>;
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, metadata?: unknown): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<unknown>;
  deleteBucket(bucket: string): Promise<unknown>;
  reset(): void;
}

interface ListOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}

interface ListResult {
  objects: unknown[];
  commonPrefixes: string[];
  isTruncated: boolean;
}

/** The ending s3rver gives the file that holds an object's bytes (`<name>._S3rver_object`). */
const OBJECT_SUFFIX = '._S3rver_object';

/**
 * Makes s3rver list in time proportional to the page, as S3 does, instead of to the bucket.
 *
 * s3rver's own listObjects walks and stats every file of the bucket on every request (three files per object),
 * so with tens of thousands of objects one page of 1,000 keys costs more than a second and a full listing grows
 * with the square of the bucket: the sandbox would measure s3rver, not the product. This keeps a sorted index of
 * each bucket's keys in the server process — built from the directory at the first listing, then kept current by
 * the store's own put, copy and delete — and answers a page with a binary search plus the metadata of the keys
 * on it. Only the sandbox's S3 process uses it; nothing else writes into its directory.
 *
 * It also keeps each listed object's metadata (size, ETag, modification time: three file reads per key in
 * s3rver), as S3 answers a listing from its index without touching the objects — forgotten when the key is
 * written or deleted, and kept only when no write touched the key while it was being read. Without it a page of
 * 1,000 keys costs s3rver 100–200 ms of reads, which the sandbox would charge to the product's pause.
 *
 * Keys compare as JavaScript strings (UTF-16 code units); S3 orders by UTF-8 bytes. The two agree for the ASCII
 * keys Pachyderm and pachbackup write.
 */
export function indexListings(store: FilesystemStore): void {
  const buckets = new Map<string, KeyIndex>();
  /** Metadata of listed objects, by bucket then key; a key's entry goes when it is written or deleted. */
  const metadata = new Map<string, Map<string, unknown>>();
  /** Writes running per `bucket/key`, and the metadata reads in flight per `bucket/key` (stale once a write touched their key). */
  const runningWrites = new Map<string, number>();
  const readsInFlight = new Map<string, Set<{ stale: boolean }>>();
  const touch = (bucket: string, key: string, id: string) => {
    metadata.get(bucket)?.delete(key);
    for (const read of readsInFlight.get(id) ?? []) read.stale = true;
  };
  const writing = async <T>(bucket: string, key: string, write: () => Promise<T>): Promise<T> => {
    const id = `${bucket}/${key}`;
    runningWrites.set(id, (runningWrites.get(id) ?? 0) + 1);
    touch(bucket, key, id);
    try {
      return await write();
    } finally {
      const left = runningWrites.get(id)! - 1;
      if (left === 0) runningWrites.delete(id);
      else runningWrites.set(id, left);
      touch(bucket, key, id);
    }
  };
  const metadataOf = async (bucket: string, key: string): Promise<unknown> => {
    let known = metadata.get(bucket);
    if (!known) metadata.set(bucket, (known = new Map()));
    if (known.has(key)) return known.get(key);
    const id = `${bucket}/${key}`;
    const read = { stale: runningWrites.has(id) };
    let reads = readsInFlight.get(id);
    if (!reads) readsInFlight.set(id, (reads = new Set()));
    reads.add(read);
    try {
      const value = await store.getMetadata(bucket, key);
      if (!read.stale) known.set(key, value);
      return value;
    } finally {
      reads.delete(read);
      if (reads.size === 0) readsInFlight.delete(id);
    }
  };
  const original = {
    putObject: store.putObject.bind(store),
    copyObject: store.copyObject.bind(store),
    deleteObject: store.deleteObject.bind(store),
    deleteBucket: store.deleteBucket.bind(store),
    reset: store.reset.bind(store),
  };

  const keysOf = (bucket: string): readonly string[] => {
    let index = buckets.get(bucket);
    if (!index) {
      const keys: string[] = [];
      // Synchronous, so no write interleaves with the scan; a write finishing later is added by its wrapper.
      collectKeys(store.getBucketPath(bucket), '', keys);
      buckets.set(bucket, (index = new KeyIndex(keys)));
    }
    return index.keys();
  };
  // A bucket not indexed yet needs nothing: its first listing scans the directory.
  const add = (bucket: string, key: string) => buckets.get(bucket)?.add(key);
  const remove = (bucket: string, key: string) => buckets.get(bucket)?.remove(key);

  store.putObject = async (object) => {
    const result = await writing(object.bucket, object.key, () => original.putObject(object));
    add(object.bucket, object.key);
    return result;
  };
  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, newMetadata) => {
    const result = await writing(destBucket, destKey, () => original.copyObject(srcBucket, srcKey, destBucket, destKey, newMetadata));
    add(destBucket, destKey);
    return result;
  };
  store.deleteObject = async (bucket, key) => {
    remove(bucket, key);
    return writing(bucket, key, () => original.deleteObject(bucket, key));
  };
  store.deleteBucket = async (bucket) => {
    buckets.delete(bucket);
    metadata.delete(bucket);
    return original.deleteBucket(bucket);
  };
  store.reset = () => {
    buckets.clear();
    metadata.clear();
    original.reset();
  };
  store.listObjects = async (bucket, options) => {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
    const keys = keysOf(bucket);
    const page: string[] = [];
    const commonPrefixes: string[] = [];
    let isTruncated = false;
    let at = startAfter > prefix ? upperBound(keys, startAfter) : lowerBound(keys, prefix);
    while (at < keys.length) {
      const key = keys[at]!;
      if (!key.startsWith(prefix)) break;
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut !== -1) {
        // A common prefix stands for every key under it: record it once and jump past them all.
        const common = key.slice(0, prefix.length + cut + delimiter.length);
        if (commonPrefixes[commonPrefixes.length - 1] !== common) commonPrefixes.push(common);
        at = lowerBound(keys, successorOfPrefix(common));
        continue;
      }
      if (page.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      page.push(key);
      at += 1;
    }
    const entries = await Promise.all(
      page.map((key) =>
        metadataOf(bucket, key).then(
          (known) => new S3Object(bucket, key, null, known),
          // Deleted between the index and now, as s3rver's own listing skips it.
          (err: NodeJS.ErrnoException) => {
            if (err.code === 'ENOENT') return undefined;
            throw err;
          },
        ),
      ),
    );
    return { objects: entries.filter((e) => e !== undefined), commonPrefixes, isTruncated };
  };
}

function collectKeys(dir: string, keyPrefix: string, into: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.endsWith(OBJECT_SUFFIX)) {
      into.push(keyPrefix + name.slice(0, -OBJECT_SUFFIX.length));
    } else if (!name.includes('._S3rver_') && statSync(join(dir, name)).isDirectory()) {
      collectKeys(join(dir, name), posix.join(keyPrefix, name) + '/', into);
    }
  }
}

/** The first index whose key is ≥ `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose key is > `key`. */
function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The smallest string greater than every string starting with `prefix`. */
function successorOfPrefix(prefix: string): string {
  return prefix + '\uffff';
}
