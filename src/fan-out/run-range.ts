import type { S3Client } from '@aws-sdk/client-s3';
import type { ClusterConfig, Config, ObjectStoreConfig } from '../config/config.js';
import { createConcurrencyLimit, type ConcurrencyLimit } from '../object-store/concurrency-limit.js';
import { createInventoryWriter, readInventory } from '../object-store/inventory.js';
import type { KeyRange } from '../object-store/key-ranges.js';
import { syncToPool } from '../object-store/sync-to-pool.js';
import { verifyInventoryObjects } from '../object-store/verify-pool.js';
import { copyInventoryObjects } from '../restore/inventory-objects.js';
import { clusterOf, listingPartKey, resolveStore, type RangeTotalsOf, type RangeWork } from './range-work.js';

/** What running one range reports back: its totals so far (at most every ~250 ms), and its totals when done. */
export interface RangeRunOptions<K extends RangeWork['kind']> {
  signal: AbortSignal;
  /** Which range of its fan-out this is (names what the range writes, such as its part of a listing). */
  part: number;
  onProgress?: (totals: RangeTotalsOf[K]) => void;
}

/**
 * Does the work of one range — the same function whether the range runs in a child job on some worker or in
 * the process that fanned out. Idempotent like the copies it makes: a range run again (retried, or taken over
 * from a dead worker) copies only what is still missing.
 */
export type RangeRunner = <W extends RangeWork>(work: W, range: KeyRange, options: RangeRunOptions<W['kind']>) => Promise<RangeTotalsOf[W['kind']]>;

/** What a range runner needs: the configuration that names every store, and a client for each store. */
export interface RangeRunnerDeps {
  config: Config;
  clientFor: (store: ObjectStoreConfig) => S3Client;
  /** Objects above this size are copied in parts (default: S3's single-copy limit). */
  multipartThreshold?: number;
}

/**
 * Creates the range runner of a process (worker or CLI). Every range it runs for a cluster — in-process fan-outs
 * and range jobs alike, however many at once — shares that cluster's `backup.copyConcurrency` copies in flight:
 * ranges side by side split the copies among them, they do not multiply them.
 */
export function createRangeRunner(deps: RangeRunnerDeps): RangeRunner {
  const { config, clientFor } = deps;
  const endpoint = (store: ObjectStoreConfig) => ({ s3: clientFor(store), store });
  const multipart = deps.multipartThreshold ? { multipartThreshold: deps.multipartThreshold } : {};
  const slots = new Map<string, ConcurrencyLimit>();
  /** The copies in flight of this process for `cluster`'s operations (a restore counts as its target cluster's). */
  const copySlotsOf = (cluster: ClusterConfig): ConcurrencyLimit => {
    let limit = slots.get(cluster.name);
    if (!limit) slots.set(cluster.name, (limit = createConcurrencyLimit(cluster.backup.copyConcurrency)));
    return limit;
  };

  const runners: { [K in RangeWork['kind']]: (work: Extract<RangeWork, { kind: K }>, range: KeyRange, options: RangeRunOptions<K>) => Promise<RangeTotalsOf[K]> } = {
    async 'pool-sync'(work, range, { signal, part, onProgress }) {
      const cluster = clusterOf(config, work.cluster);
      const backup = endpoint(cluster.backupStore);
      // The range's part of the listing is stored only whole: a failed or cancelled range leaves none behind.
      const listing = work.listing ? createInventoryWriter({ s3: backup.s3, bucket: backup.store.bucket, key: listingPartKey(work.listing.prefix, part), signal }) : undefined;
      try {
        const result = await syncToPool({
          source: endpoint(cluster.objectStore),
          target: backup,
          concurrency: cluster.backup.copyConcurrency,
          copySlots: copySlotsOf(cluster),
          range,
          signal,
          ...multipart,
          ...(listing ? { onObject: (entry) => listing.add(entry) } : {}),
          ...(onProgress ? { onProgress: (p) => onProgress({ listed: p.listed, listedBytes: p.listedBytes, copied: p.copied, copiedBytes: p.copiedBytes, skipped: p.skipped, conflicts: p.conflicts }) } : {}),
        });
        await listing?.close();
        return { listed: result.listed, listedBytes: result.listedBytes, copied: result.copied, copiedBytes: result.copiedBytes, skipped: result.skipped, conflicts: result.conflicts };
      } catch (err) {
        await listing?.abort();
        throw err;
      }
    },

    async 'inventory-copy'(work, range, { signal, onProgress }) {
      const backup = resolveStore(config, work.backup);
      const target = resolveStore(config, work.target);
      const targetCluster = clusterOf(config, work.target.cluster);
      const counts = await copyInventoryObjects({
        source: endpoint(backup),
        target: endpoint(target),
        // The inventory's checksum was checked before the copy (the restore verifies the backup first); a range
        // reads it only up to the range's end, which is as far as a checksum cannot go.
        entries: readInventory({ s3: clientFor(backup), bucket: backup.bucket, key: work.inventory.key, signal }),
        overwrite: work.overwrite,
        concurrency: targetCluster.backup.copyConcurrency,
        copySlots: copySlotsOf(targetCluster),
        range,
        signal,
        ...multipart,
        ...(onProgress
          ? { onProgress: (p) => onProgress({ objects: p.seen, bytes: p.seenBytes, copied: p.copied, copiedBytes: p.copiedBytes, skipped: p.skipped, replaced: p.replaced }) }
          : {}),
      });
      return { objects: counts.objects, bytes: counts.bytes, copied: counts.copied, copiedBytes: counts.copiedBytes, skipped: counts.skipped, replaced: counts.replaced };
    },

    async 'pool-verify'(work, range, { signal, onProgress }) {
      const backup = resolveStore(config, work.backup);
      const s3 = clientFor(backup);
      const result = await verifyInventoryObjects({
        s3,
        store: backup,
        entries: readInventory({ s3, bucket: backup.bucket, key: work.inventory.key, signal }),
        range,
        signal,
        ...(onProgress ? { onProgress: (p) => onProgress({ checked: p.checked, missingCount: p.missingCount, wrongSizeCount: p.wrongSizeCount, missing: [], wrongSize: [] }) } : {}),
      });
      return { checked: result.checked, missingCount: result.missingCount, wrongSizeCount: result.wrongSizeCount, missing: result.missing, wrongSize: result.wrongSize };
    },
  };

  return <W extends RangeWork>(work: W, range: KeyRange, options: RangeRunOptions<W['kind']>) =>
    (runners[work.kind] as unknown as (w: W, r: KeyRange, o: RangeRunOptions<W['kind']>) => Promise<RangeTotalsOf[W['kind']]>)(work, range, options);
}
