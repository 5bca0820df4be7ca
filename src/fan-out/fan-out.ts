import type { KeyRange } from '../object-store/key-ranges.js';
import { createProgressThrottle } from '../object-store/progress-throttle.js';
import { withTaskPool } from '../object-store/task-pool.js';
import type { RangeRunner } from './run-range.js';
import { sumTotals, type RangeTotalsOf, type RangeWork, type RangeWorkKind } from './range-work.js';

/** Where a fan-out's ranges ran: as child jobs taken by any worker, or in the process that asked. */
export type FanOutPlace = 'workers' | 'this process';

/** One piece of range work to run over every range of `ranges`, for step `step` of run `runId`. */
export interface FanOutRequest<K extends RangeWorkKind> {
  runId: string;
  step: string;
  work: Extract<RangeWork, { kind: K }>;
  /** Disjoint ranges that together cover the keys to work on (see splitKeySpace). */
  ranges: KeyRange[];
  signal: AbortSignal;
  /**
   * Run every range in this process, never as queued jobs: for work while the cluster is paused, which must not
   * wait for a queue (other operations' ranges may hold every worker) — its ranges still run side by side.
   */
  local?: boolean;
  /** At most every ~250 ms: the sum over every range so far (finished ranges with their final totals). */
  onProgress?: (progress: FanOutProgress<K>) => void;
}

/** A fan-out's progress so far. */
export interface FanOutProgress<K extends RangeWorkKind> {
  /** The sum over ranges that have reported; undefined before any has. */
  totals: RangeTotalsOf[K] | undefined;
  rangesDone: number;
  ranges: number;
  where: FanOutPlace;
}

/** How a copy was split: into how many key ranges, run where, finished by how many processes. */
export interface CopySplit {
  ranges: number;
  workers: number;
  where: FanOutPlace;
}

/** How a copy was split, for its summary: "; in 20 key ranges on 3 workers" (or "… in this process"). */
export function describeSplit(split: CopySplit): string {
  return `; in ${split.ranges} key ranges ${split.where === 'workers' ? `on ${split.workers} worker${split.workers === 1 ? '' : 's'}` : 'in this process'}`;
}

/** A finished fan-out: one total, and where its ranges ran. */
export interface FanOutResult<K extends RangeWorkKind> {
  totals: RangeTotalsOf[K];
  /** What each range did, in range order. */
  perRange: RangeTotalsOf[K][];
  ranges: number;
  /** Distinct processes that finished ranges (1 when they ran in this process). */
  workers: number;
  where: FanOutPlace;
}

/**
 * Runs a large copy (or check) range by range and sums what the ranges did. Resolves once every range has
 * succeeded, with the exact sum; throws the first range failure that no retry cured — after stopping every other
 * range — or PachbackupError 'cancelled' once `signal` aborts and every range has stopped. Ranges are
 * idempotent (copies of what is missing), so a range run twice changes nothing.
 */
export interface FanOut {
  run<K extends RangeWorkKind>(request: FanOutRequest<K>): Promise<FanOutResult<K>>;
  /** About how many ranges can run at once now (with `local`: in this process), so a copy can be cut to keep all of them busy. */
  capacity(options?: { local?: boolean }): Promise<number>;
}

/** Ranges a process runs at once by default (each with the cluster's `backup.copyConcurrency` copies in flight). */
export const DEFAULT_RANGES_AT_ONCE = 4;

/**
 * A fan-out that runs every range in this process, `rangesAtOnce` at a time: what the CLI does when no worker is
 * there to take child jobs, and what steps during a pause use (the paused part of an operation never waits for a
 * queue, and its ranges still list and copy in parallel).
 */
export function createInProcessFanOut(options: { runRange: RangeRunner; rangesAtOnce?: number }): FanOut {
  const rangesAtOnce = Math.max(1, Math.floor(options.rangesAtOnce ?? DEFAULT_RANGES_AT_ONCE));
  return {
    capacity: async () => rangesAtOnce,
    async run<K extends RangeWorkKind>(request: FanOutRequest<K>): Promise<FanOutResult<K>> {
      const { ranges, work, signal } = request;
      const latest: (RangeTotalsOf[K] | undefined)[] = ranges.map(() => undefined);
      let rangesDone = 0;
      const snapshot = (): FanOutProgress<K> => ({
        totals: sumTotals(latest.filter((t): t is RangeTotalsOf[K] => t !== undefined)),
        rangesDone,
        ranges: ranges.length,
        where: 'this process',
      });
      const progress = createProgressThrottle(snapshot, request.onProgress);
      await withTaskPool({ concurrency: rangesAtOnce, signal, what: `step ${request.step} of ${request.runId}` }, async (tasks) => {
        for (const [part, range] of ranges.entries()) {
          if (tasks.failure) throw tasks.failure.error;
          await tasks.submit(async (taskSignal) => {
            latest[part] = await options.runRange(work, range, {
              signal: taskSignal,
              part,
              onProgress: (totals) => {
                latest[part] = totals as RangeTotalsOf[K];
                progress.changed();
              },
            }) as RangeTotalsOf[K];
            rangesDone += 1;
            progress.changed();
          });
        }
      });
      progress.flush();
      const perRange = latest as RangeTotalsOf[K][];
      return { totals: sumTotals(perRange)!, perRange, ranges: ranges.length, workers: 1, where: 'this process' };
    },
  };
}
