import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { backupFolder } from '../catalog/backup-layout.js';
import { PachbackupError } from '../errors.js';
import type { CopySplit } from '../fan-out/fan-out.js';
import { estimateKeyCount, planRanges } from '../fan-out/plan-ranges.js';
import { listingPartKey } from '../fan-out/range-work.js';
import { listObjects } from '../object-store/list-objects.js';
import { storeKeyPrefix } from '../object-store/pool-keys.js';
import type { SavedListing } from '../object-store/saved-listing.js';
import { toStoreError } from '../object-store/store-error.js';
import type { SyncResult } from '../object-store/sync-to-pool.js';
import { withTaskPool } from '../object-store/task-pool.js';
import { deleteObjectsUnder } from '../restore/inventory-objects.js';
import type { StepContext } from '../runner/step.js';
import type { BackupDeps } from './backup-deps.js';

/** A split pool copy: its counts, how it was split, and the listing it saw, on this worker's disk. */
export interface SplitPoolCopy extends SyncResult {
  split: CopySplit;
  listing: SavedListing;
}

/** Listing parts fetched from the backup store at once. */
const FETCH_CONCURRENCY = 8;

/**
 * Copies into the backup pool what it lacks of the cluster's bucket split into key ranges that every worker
 * takes — when the deps have a fan-out and the bucket holds at least `backup.fanOut.minObjects` objects
 * (estimated from how far the first listing page reaches into the evenly spread chunk keys; counted when that
 * page is all there is). Returns undefined otherwise: the copy is the step's own single-process pass.
 *
 * Each range compares its slice of the bucket with its slice of the pool, copies what is missing and writes what
 * it listed — every object with where its bytes are in the store — as its part of the listing, into the backup
 * store (scratch files under the backup's folder). Once every range is done the parts are fetched to
 * `listingDir` on this worker's disk, as the SavedListing the later passes and the pause compare with, and the
 * scratch files deleted. The result is one total, the same a single pass would give: every range copies only
 * what the pool lacks, so splitting changes where copies run, never what is copied. Progress is the sum over
 * every range, through `ctx.progress`.
 */
export async function copyIntoPool(deps: BackupDeps, ctx: StepContext<unknown>, options: { step: string; listingDir: string }): Promise<SplitPoolCopy | undefined> {
  const { cluster, fanOut } = deps;
  if (!fanOut) return undefined;
  const started = performance.now();
  const settings = cluster.backup.fanOut;
  // One listing page is enough to tell a small bucket (counted) from a large one (estimated within a few %).
  const estimate = await estimateKeyCount(listObjects(deps.clusterS3, cluster.objectStore.bucket, storeKeyPrefix(cluster.objectStore), { signal: ctx.signal }), Math.min(settings.minObjects, 1000));
  const ranges = planRanges(estimate.count, settings, await fanOut.capacity());
  if (!ranges) return undefined;
  ctx.log.info({ objects: estimate, ranges: ranges.length }, 'splitting the copy into key ranges');
  const prefix = `${backupFolder(cluster.backupStore, cluster.name, deps.backupId)}/listings/${options.step}/`;
  const result = await fanOut.run({
    runId: deps.backupId,
    step: options.step,
    work: { kind: 'pool-sync', cluster: cluster.name, listing: { prefix } },
    ranges,
    signal: ctx.signal,
    onProgress: ({ totals, rangesDone, where }) =>
      ctx.progress({
        objectsDone: totals ? totals.copied + totals.skipped : 0,
        ...(estimate.exact ? { objectsTotal: estimate.count } : {}),
        bytesDone: totals?.copiedBytes ?? 0,
        message: `${totals?.copied ?? 0} copied, ${totals?.skipped ?? 0} already stored; ${rangesDone} of ${ranges.length} key ranges done${where === 'workers' ? ' by the workers' : ' in this process'}`,
      }),
  });

  // The later passes and the pause read the listing from this worker's disk, range by range.
  mkdirSync(options.listingDir, { recursive: true });
  const bucket = cluster.backupStore.bucket;
  const parts: SavedListing['parts'] = new Array(ranges.length);
  await withTaskPool({ concurrency: FETCH_CONCURRENCY, signal: ctx.signal, what: `fetching the listing of s3://${bucket}/${prefix}` }, async (tasks) => {
    for (const [part, totals] of result.perRange.entries()) {
      await tasks.submit(async (signal) => {
        const key = listingPartKey(prefix, part);
        const file = join(options.listingDir, `part-${String(part).padStart(4, '0')}.ndjson.gz`);
        try {
          const got = await deps.backupS3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
          if (!(got.Body instanceof Readable)) throw new PachbackupError('unavailable', `s3://${bucket}/${key}: the store sent no body`, { retryable: true });
          await pipeline(got.Body, createWriteStream(file), { signal });
        } catch (err) {
          throw toStoreError(err, `fetching s3://${bucket}/${key}`, signal);
        }
        parts[part] = { file, objects: totals.listed, bytes: totals.listedBytes };
      });
    }
  });
  await deleteObjectsUnder(deps.backupS3, bucket, prefix, ctx.signal).catch((err: unknown) =>
    ctx.log.warn({ err, prefix }, 'could not delete the listing parts from the backup store; retention removes them with the incomplete backup folder'),
  );
  return {
    ...result.totals,
    durationMs: Math.round(performance.now() - started),
    split: { ranges: result.ranges, workers: result.workers, where: result.where },
    listing: { dir: options.listingDir, ranges, parts },
  };
}
