import type { ClusterConfig, Config, ObjectStoreConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';

/**
 * A bucket named by the configured cluster whose store it is, and which of its stores: the cluster's own
 * bucket (`objects`) or its backup store (`backup`) — optionally another bucket, prefix or endpoint reached
 * with that store's credentials (a restore into a new bucket). A reference never carries credentials: each
 * worker takes them from its own configuration, so the state database and Redis never see them.
 */
export interface StoreRef {
  cluster: string;
  role: 'objects' | 'backup';
  bucket?: string;
  prefix?: string;
  endpoint?: string;
}

/**
 * What every range of a fanned-out copy does, the same for all its ranges; serializable, kept in the state
 * database by the step that fans out, and read from there by each child.
 *
 * - `pool-sync`: copies the cluster's bucket into its backup pool, what the pool lacks (a backup's pre-copy); with
 *   `listing`, each range also writes what it listed — every object and where its bytes are in the store, in key
 *   order, gzip — to `listingPartKey(listing.prefix, part)` in the cluster's backup store.
 * - `inventory-copy`: copies a backup's inventory objects from the backup store into a target bucket, what the
 *   target lacks (a restore's object copy), as many at once as the target cluster's `backup.copyConcurrency`.
 * - `pool-verify`: checks that a backup's inventory objects are in the pool with their sizes (verification).
 */
export type RangeWork =
  | { kind: 'pool-sync'; cluster: string; listing?: { prefix: string } }
  | { kind: 'inventory-copy'; backup: StoreRef; inventory: { key: string }; target: StoreRef; overwrite: boolean }
  | { kind: 'pool-verify'; backup: StoreRef; inventory: { key: string } };

export type RangeWorkKind = RangeWork['kind'];

/**
 * What one range did (and, while it runs, has done so far), by kind. Counts add up over ranges; key lists are
 * the first keys of each problem, in key order.
 */
export interface RangeTotalsOf {
  'pool-sync': { listed: number; listedBytes: number; copied: number; copiedBytes: number; skipped: number; conflicts: number };
  'inventory-copy': { objects: number; bytes: number; copied: number; copiedBytes: number; skipped: number; replaced: number };
  'pool-verify': { checked: number; missingCount: number; wrongSizeCount: number; missing: string[]; wrongSize: string[] };
}

export type RangeTotals = RangeTotalsOf[RangeWorkKind];

/** How many keys of each problem a sum keeps (the counts stay complete). */
export const KEPT_KEYS = 100;

/**
 * Adds the totals of several ranges, given in range order: numbers are summed, key lists concatenated (so
 * they stay in key order) and cut at KEPT_KEYS. An empty list sums to undefined.
 */
export function sumTotals<T extends RangeTotals>(parts: readonly T[]): T | undefined {
  if (parts.length === 0) return undefined;
  const sum: Record<string, number | string[]> = {};
  for (const part of parts) {
    for (const [name, value] of Object.entries(part) as [string, number | string[]][]) {
      const current = sum[name];
      if (Array.isArray(value)) sum[name] = [...((current as string[] | undefined) ?? []), ...value].slice(0, KEPT_KEYS);
      else sum[name] = ((current as number | undefined) ?? 0) + value;
    }
  }
  return sum as unknown as T;
}

/** The configured cluster a reference names; 'config-invalid' when this process does not have it. */
export function clusterOf(config: Config, name: string): ClusterConfig {
  const cluster = config.clusters[name];
  if (!cluster) {
    throw new PachbackupError('config-invalid', `cluster ${name} is not in this worker's config`, { hint: 'run every worker with the same configuration' });
  }
  return cluster;
}

/** The store a reference names, with the credentials of the cluster store it is based on. */
export function resolveStore(config: Config, ref: StoreRef): ObjectStoreConfig {
  const cluster = clusterOf(config, ref.cluster);
  const base = ref.role === 'backup' ? cluster.backupStore : cluster.objectStore;
  return {
    ...base,
    ...(ref.bucket !== undefined ? { bucket: ref.bucket } : {}),
    ...(ref.prefix !== undefined ? { prefix: ref.prefix } : {}),
    ...(ref.endpoint !== undefined ? { endpoint: ref.endpoint } : {}),
  };
}

/** Where range `part` of a `pool-sync` with a listing writes its part: `<prefix>part-0007.ndjson.gz`. */
export function listingPartKey(prefix: string, part: number): string {
  return `${prefix}part-${String(part).padStart(4, '0')}.ndjson.gz`;
}
