import { formatBytes } from '../format-units.js';
import type { FanOutPlace } from '../fan-out/fan-out.js';
import { estimateKeyCount, planRanges } from '../fan-out/plan-ranges.js';
import { listObjects } from '../object-store/list-objects.js';
import { storeKeyPrefix } from '../object-store/pool-keys.js';
import { syncToPool, type SyncResult } from '../object-store/sync-to-pool.js';
import type { StepContext } from '../runner/step.js';
import type { BackupDeps } from './backup-deps.js';

/** A pool copy's counts, and — when it was split — how: into how many key ranges, run where, by how many processes. */
export interface PoolCopyResult extends SyncResult {
  split?: { ranges: number; workers: number; where: FanOutPlace };
}

/**
 * Copies into the backup pool what it lacks of the cluster's bucket, for step `ctx` — in one process, or, when
 * the bucket holds at least `backup.fanOut.minObjects` objects (estimated from how far the first listing page
 * reaches into the evenly spread chunk keys; counted when that is all) and the deps have a fan-out, split into key ranges
 * run as child jobs by every worker (or in this process, several at once, when none is running or `local` is
 * set: work while paused never waits for a queue). Either way the result is one total, the same as one sync
 * would give, and every range copies only what the pool lacks, so the split changes what runs where, never what
 * gets copied. Progress is the sum over every range, reported through `ctx.progress`.
 */
export async function copyIntoPool(deps: BackupDeps, ctx: StepContext<unknown>, options: { step: string; local?: boolean }): Promise<PoolCopyResult> {
  const { cluster } = deps;
  const started = performance.now();
  const single = () =>
    syncToPool({
      source: { s3: deps.clusterS3, store: cluster.objectStore },
      target: { s3: deps.backupS3, store: cluster.backupStore },
      concurrency: cluster.backup.copyConcurrency,
      ...(deps.multipartThreshold ? { multipartThreshold: deps.multipartThreshold } : {}),
      signal: ctx.signal,
      onProgress: (p) => ctx.progress({ objectsDone: p.copied + p.skipped, objectsTotal: p.listed, bytesDone: p.copiedBytes, message: `${p.copied} copied, ${p.skipped} already stored` }),
      onWarning: (w) => ctx.log.warn({ warning: w }, 'object copy warning'),
    });
  if (!deps.fanOut) return single();
  const settings = cluster.backup.fanOut;
  // One listing page is enough to tell a small bucket (counted) from a large one (estimated within a few %).
  const estimate = await estimateKeyCount(listObjects(deps.clusterS3, cluster.objectStore.bucket, storeKeyPrefix(cluster.objectStore), { signal: ctx.signal }), Math.min(settings.minObjects, 1000));
  const ranges = planRanges(estimate.count, settings, await deps.fanOut.capacity(options.local ? { local: true } : {}));
  if (!ranges) return single();
  ctx.log.info({ objects: estimate, ranges: ranges.length }, 'splitting the copy into key ranges');
  const result = await deps.fanOut.run({
    runId: deps.backupId,
    step: options.step,
    work: { kind: 'pool-sync', cluster: cluster.name },
    ranges,
    signal: ctx.signal,
    ...(options.local ? { local: true } : {}),
    onProgress: ({ totals, rangesDone, where }) =>
      ctx.progress({
        objectsDone: totals ? totals.copied + totals.skipped : 0,
        ...(estimate.exact ? { objectsTotal: estimate.count } : {}),
        bytesDone: totals?.copiedBytes ?? 0,
        message: `${totals?.copied ?? 0} copied, ${totals?.skipped ?? 0} already stored; ${rangesDone} of ${ranges.length} key ranges done${where === 'workers' ? ' by the workers' : ' in this process'}`,
      }),
  });
  return { ...result.totals, durationMs: Math.round(performance.now() - started), split: { ranges: result.ranges, workers: result.workers, where: result.where } };
}

/** One line on a pool copy: what was copied, at what rate, what was there already, and how it was split. */
export function describePoolCopy(result: PoolCopyResult): string {
  const rate = result.durationMs > 0 ? (result.copiedBytes / result.durationMs) * 1000 : 0;
  const split = result.split
    ? `; in ${result.split.ranges} key ranges ${result.split.where === 'workers' ? `on ${result.split.workers} worker${result.split.workers === 1 ? '' : 's'}` : 'in this process'}`
    : '';
  return `copied ${result.copied} of ${result.listed} objects (${formatBytes(result.copiedBytes)}${result.copied > 0 ? ` at ${formatBytes(rate)}/s` : ''}); ${result.skipped} already in the store${result.conflicts ? `; ${result.conflicts} kept beside a different object with the same key` : ''}${split}`;
}
