import { join } from 'node:path';
import { backupFiles } from '../../catalog/backup-layout.js';
import { PachbackupError } from '../../errors.js';
import { describeSplit } from '../../fan-out/fan-out.js';
import { formatBytes } from '../../format-units.js';
import { estimateKeyCount } from '../../fan-out/plan-ranges.js';
import { CHUNK_FOLDER, splitKeySpace } from '../../object-store/key-ranges.js';
import { listObjects } from '../../object-store/list-objects.js';
import { storeKeyPrefix } from '../../object-store/pool-keys.js';
import { isListingOnDisk, removeListing, reshapeListing, uploadListingAsInventory, type SavedListing } from '../../object-store/saved-listing.js';
import { syncRangesToPool } from '../../object-store/sync-ranges.js';
import type { SyncResult } from '../../object-store/sync-to-pool.js';
import type { Step, StepContext } from '../../runner/step.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs, CopyCounts } from '../backup-outputs.js';
import { copyIntoPool } from '../copy-into-pool.js';

/** Catch-up passes at most: each is shorter than the one before, so a few are enough to converge. */
const MAX_CATCH_UP_PASSES = 3;

function counts(result: SyncResult): CopyCounts {
  const { listed, listedBytes, copied, copiedBytes, skipped, conflicts, durationMs } = result;
  return { listed, listedBytes, copied, copiedBytes, skipped, conflicts, durationMs };
}

function describeCopy(result: CopyCounts): string {
  const rate = result.durationMs > 0 ? (result.copiedBytes / result.durationMs) * 1000 : 0;
  return `copied ${result.copied} of ${result.listed} objects (${formatBytes(result.copiedBytes)}${result.copied > 0 ? ` at ${formatBytes(rate)}/s` : ''}); ${result.skipped} already in the store${result.conflicts ? `; ${result.conflicts} kept beside a different object with the same key` : ''}`;
}

/**
 * One pass over the cluster bucket, its key ranges listed in parallel, compared with `previous` (what the last
 * pass saw, if this worker still has it) or else with the pool; writes its own listing under the run's work
 * directory. A pass that replaces an older listing deletes it. Says which it compared with, for the summary.
 */
async function pass(deps: BackupDeps, ctx: StepContext<BackupOutputs>, name: string, previous: SavedListing | undefined, options: { paused?: boolean } = {}) {
  const usable = isListingOnDisk(previous) ? previous : undefined;
  if (previous && !usable) ctx.log.warn('the last pass\'s listing is not on this worker (a retried run): comparing with the pool\'s listing instead');
  const { backup } = deps.cluster;
  const plan = usable ? undefined : await planFirstPass(deps, ctx);
  const result = await syncRangesToPool({
    source: { s3: deps.clusterS3, store: deps.cluster.objectStore },
    target: { s3: deps.backupS3, store: deps.cluster.backupStore },
    ranges: usable?.ranges ?? splitKeySpace(plan!.ranges, CHUNK_FOLDER),
    ...(usable ? { previous: usable } : { expectedObjects: plan!.objects }),
    outputDir: join(deps.workDir, `listing-${name}`),
    // Paused, the listing is written uncompressed: the inventory upload, after the resume, compresses it.
    compressListing: !options.paused,
    listConcurrency: backup.listConcurrency,
    concurrency: backup.copyConcurrency,
    ...(deps.multipartThreshold ? { multipartThreshold: deps.multipartThreshold } : {}),
    signal: ctx.signal,
    onProgress: (p) => ctx.progress({ objectsDone: p.listed, bytesDone: p.copiedBytes, message: `${p.copied} copied, ${p.skipped} already stored` }),
    onWarning: (w) => ctx.log.warn({ warning: w }, 'object copy warning'),
  });
  if (usable && usable.dir !== result.listing.dir) removeListing(usable);
  return { ...result, compared: usable ? ('listing' as const) : ('pool' as const) };
}

/**
 * How a pass with no earlier listing to compare with splits the bucket — and so every later pass of the run —
 * and how many objects it expects: one range per page of keys (each range costs at least one request however
 * few keys it holds, and is sent a page of keys from its start unless it expects fewer), at most
 * `backup.listConcurrency`. The size is the last backup's count, or — for a first backup — one listing page's
 * worth of the bucket (counted when that is all of it, else estimated from how far into the hex key space it
 * reaches: see `estimateKeyCount`). Before this, a first backup of 2,400 objects was listed in 16 ranges each
 * sent a full page: 16,000 keys read by the store and parsed by the worker, 9 s of its pause on the sandbox.
 */
async function planFirstPass(deps: BackupDeps, ctx: StepContext<BackupOutputs>): Promise<{ ranges: number; objects: number | undefined }> {
  const most = deps.cluster.backup.listConcurrency;
  const last = await deps.catalog.latestManifest(deps.cluster.name).catch((err: unknown) => {
    ctx.log.warn({ err }, 'could not read the last backup\'s manifest; estimating the bucket\'s size from its first listing page');
    return undefined;
  });
  const objects = last
    ? last.objects.count
    : await estimateKeyCount(listObjects(deps.clusterS3, deps.cluster.objectStore.bucket, storeKeyPrefix(deps.cluster.objectStore), { signal: ctx.signal }), 1000).then(
        (estimate) => estimate.count,
        (err: unknown) => {
          ctx.log.warn({ err }, 'could not estimate the bucket\'s size; listing in as many ranges as allowed');
          return undefined;
        },
      );
  return { ranges: objects === undefined ? most : Math.min(most, Math.max(1, Math.ceil(objects / 1000))), objects };
}

/**
 * Copies, while the cluster still runs, every object of its bucket that the backup store's pool lacks — the
 * bulk of the data — and keeps the sorted listing it saw on the worker's disk, so that the pause compares the
 * bucket with that instead of listing the pool. Content-addressed keys are never overwritten, so what is copied
 * now stays valid; an object deleted before the pause is a harmless orphan.
 */
export function preCopyObjects(deps: BackupDeps): Step<BackupOutputs> {
  return {
    name: 'pre-copy',
    title: 'Copy objects (cluster running)',
    description: `Copy the objects of s3://${deps.cluster.objectStore.bucket} missing from the backup store, while Pachyderm still runs.`,
    async run(ctx) {
      // A large bucket is copied by every worker, range by range; its listing comes back to this worker's disk.
      const split = await copyIntoPool(deps, ctx, { step: 'pre-copy', listingDir: join(deps.workDir, 'listing-pre-copy') });
      const result = split ?? (await pass(deps, ctx, 'pre-copy', undefined));
      // The later passes and the pause list in the ranges of this listing: cut them for the pause's listing.
      const listing = await reshapeListing(result.listing, { outputDir: join(deps.workDir, 'listing-pre-copy-recut'), listConcurrency: deps.cluster.backup.listConcurrency });
      if (listing !== result.listing) removeListing(result.listing);
      const recut = listing !== result.listing ? `; its listing re-cut from ${result.listing.ranges.length} into ${listing.ranges.length} key ranges for the pause` : '';
      const summary = `${describeCopy(result)}${split ? describeSplit(split.split) : ''}${recut}`;
      return { output: { preCopy: { ...counts(result), listing } }, sizes: { bytes: result.copiedBytes, objects: result.copied }, summary };
    },
  };
}

/**
 * When the pre-copy took long (longer than `backup.catchUpAfterSeconds`), copies again, right before the
 * pause, what arrived meanwhile — comparing with the last pass's listing, not the pool — and again while a pass
 * still takes that long (at most three passes), as live migration converges: the pause then copies only what
 * arrived in the last seconds. Skipped when the pre-copy was short.
 */
export function catchUpCopy(deps: BackupDeps): Step<BackupOutputs> {
  const after = deps.cluster.backup.catchUpAfterSeconds;
  return {
    name: 'catch-up-copy',
    title: 'Copy what arrived meanwhile (cluster running)',
    description: `When the pre-copy took over ${after} s, copy what arrived during it, right before the pause.`,
    async isDone(ctx) {
      const took = (ctx.outputs.preCopy?.durationMs ?? 0) / 1000;
      return took < after ? { summary: `not needed: the pre-copy took ${took.toFixed(1)} s` } : undefined;
    },
    async run(ctx) {
      let listing = ctx.outputs.preCopy?.listing;
      const total: CopyCounts = { listed: 0, listedBytes: 0, copied: 0, copiedBytes: 0, skipped: 0, conflicts: 0, durationMs: 0 };
      let passes = 0;
      let last: Awaited<ReturnType<typeof pass>> | undefined;
      do {
        passes += 1;
        last = await pass(deps, ctx, `catch-up-${passes}`, listing);
        listing = last.listing;
        for (const k of ['copied', 'copiedBytes', 'conflicts', 'durationMs'] as const) total[k] += last[k];
        Object.assign(total, { listed: last.listed, listedBytes: last.listedBytes, skipped: last.listed - total.copied });
      } while (last.durationMs / 1000 >= after && passes < MAX_CATCH_UP_PASSES);
      return {
        output: { catchUp: { ...total, passes, listing: listing! } },
        sizes: { bytes: total.copiedBytes, objects: total.copied },
        summary: `${passes} pass${passes === 1 ? '' : 'es'}, the last of ${(last.durationMs / 1000).toFixed(1)} s: ${describeCopy(total)}`,
      };
    },
  };
}

/**
 * With the cluster paused: lists the cluster bucket again — only it, its key ranges in parallel — compares it
 * with the listing of the last pass before the pause (on this worker's disk; the pool's listing if the worker
 * changed), copies what arrived since, and keeps what it listed: the inventory, every object at the pause with
 * where its bytes are in the store, uploaded after the resume.
 */
export function copyDelta(deps: BackupDeps): Step<BackupOutputs> {
  return {
    name: 'delta-copy',
    title: 'Copy new objects',
    description: "List the paused cluster's bucket, copy what arrived since the last copy, and keep the listing for the inventory.",
    downtime: true,
    async run(ctx) {
      const previous = ctx.outputs.catchUp?.listing ?? ctx.outputs.preCopy?.listing;
      const result = await pass(deps, ctx, 'pause', previous, { paused: true });
      const compared =
        result.compared === 'pool' ? "the pool's listing (the earlier listing is not on this worker)" : ctx.outputs.catchUp ? "the catch-up copy's listing" : "the pre-copy's listing";
      return {
        output: { delta: { ...counts(result), listing: result.listing } },
        sizes: { bytes: result.copiedBytes, objects: result.copied },
        summary: `${describeCopy(result)}; listed ${result.listed} objects (${formatBytes(result.listedBytes)}), compared with ${compared}`,
      };
    },
  };
}

/**
 * After the resume: writes the listing taken at the pause into the backup store as inventory.ndjson.gz (its
 * parts concatenated in key order, SHA-256 on the way). A run picked up after its worker died cannot: the listing
 * was on that worker's disk (and its database snapshots are gone too); it fails saying so.
 */
export function writeInventory(deps: BackupDeps): Step<BackupOutputs> {
  const key = backupFiles.inventory(deps.cluster.backupStore, deps.cluster.name, deps.backupId);
  return {
    name: 'inventory',
    title: 'Write the inventory',
    description: 'Store the list of every object at the pause, with where its bytes are in the backup store.',
    async run(ctx) {
      const listing = ctx.outputs.delta?.listing;
      if (!listing) throw new PachbackupError('internal', 'the delta copy left no listing of the pause');
      const summary = await uploadListingAsInventory(listing, { s3: deps.backupS3, bucket: deps.cluster.backupStore.bucket, key, signal: ctx.signal });
      return {
        output: { inventory: { key, sha256: summary.sha256, bytes: summary.compressedBytes, objects: summary.objects, objectBytes: summary.bytes } },
        sizes: { bytes: summary.compressedBytes, objects: summary.objects },
        summary: `inventory of ${summary.objects} objects (${formatBytes(summary.bytes)})`,
      };
    },
  };
}
