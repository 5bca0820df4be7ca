import { setTimeout as sleep } from 'node:timers/promises';
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { PachbackupError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { requestCancel } from '../jobs/cancel-requests.js';
import { cancelledError, throwIfCancelled } from '../object-store/abort-link.js';
import { describeKeyRange, type KeyRange } from '../object-store/key-ranges.js';
import { createProgressThrottle } from '../object-store/progress-throttle.js';
import { DEFAULT_RANGES_AT_ONCE, type FanOut, type FanOutProgress, type FanOutRequest, type FanOutResult } from './fan-out.js';
import type { FanOutStore, RangeRecord } from './fan-out-store.js';
import { JOIN_JOB, RANGE_ATTEMPTS, RANGE_JOB, rangeJobId, rangesQueueName, type JoinJobData, type RangeJobData } from './range-queue.js';
import { sumTotals, type RangeTotalsOf, type RangeWorkKind } from './range-work.js';

/** What a queued fan-out needs, from a composition root. */
export interface QueuedFanOutOptions {
  /** A Redis connection; the fan-out opens its own duplicates of it (a blocking reader, a queue, a flow producer). */
  redis: Redis;
  prefix: string;
  fanOuts: FanOutStore;
  /** Where ranges run when no worker takes range jobs (the CLI on its own): in this process. */
  fallback: FanOut;
  log: Logger;
  /** How often the state database is asked how far the ranges are (events wake it up sooner). Default 1 s. */
  pollMs?: number;
  /** How long stopping waits for running ranges to end (default 60 s); they stop by themselves later otherwise. */
  stopTimeoutMs?: number;
  /** Ranges each worker is assumed to run at once, for `capacity` (default DEFAULT_RANGES_AT_ONCE, `worker --ranges`). */
  rangesPerWorker?: number;
  /** How long ranges may wait with no worker listening before the fan-out fails (default 60 s). */
  noWorkerTimeoutMs?: number;
}

const CODES: readonly ErrorCode[] = ['config-invalid', 'config-missing', 'usage', 'not-found', 'conflict', 'forbidden', 'precondition', 'unavailable', 'timeout', 'cancelled', 'integrity', 'dependency-missing', 'internal'];

/**
 * A fan-out over BullMQ flows: one child job per range on the ranges queue, under a parent ("join") job that
 * BullMQ runs only once every child has succeeded. Any worker takes any range; a range that fails is retried
 * on its own (RANGE_ATTEMPTS times, with backoff); a range whose worker dies is taken again by another worker
 * (BullMQ's stalled-job recovery) and, being idempotent, copies only what is still missing.
 *
 * The asking step stays in its own process (it holds the run's cluster lock, its saga and its reporting), waiting
 * on the state database, where each child records its totals, woken early by BullMQ's queue events, whose
 * progress events it sums into the step's progress. A step run again after its worker died finds its fan-out
 * still running and waits for the same children. When no worker listens on the ranges queue the ranges run in
 * this process instead (`fallback`), and the progress says so; should every worker go away while ranges remain,
 * the fan-out fails after `noWorkerTimeoutMs` (retryable) rather than wait forever. On failure or cancellation every range is
 * stopped — the fan-out is ended in the state database (which children check before and while they copy), a
 * cancel request names it, and what has not started is removed — before the error is thrown.
 */
export function createQueuedFanOut(options: QueuedFanOutOptions): FanOut & { close(): Promise<void> } {
  const { redis, prefix, fanOuts, log } = options;
  const queueName = rangesQueueName(prefix);
  const pollMs = options.pollMs ?? 1000;
  // BullMQ leaves connections it is given open: these are closed here, in `close`.
  const connections = [redis.duplicate(), redis.duplicate()];
  const queue = new Queue<RangeJobData | JoinJobData>(queueName, { connection: connections[0]! });
  const flows = new FlowProducer({ connection: connections[1]! });
  let events: QueueEvents | undefined;
  const queueEvents = async (): Promise<QueueEvents> => {
    if (!events) {
      const connection = redis.duplicate({ maxRetriesPerRequest: null });
      connections.push(connection);
      events = new QueueEvents(queueName, { connection });
      await events.waitUntilReady();
    }
    return events;
  };

  const addFlow = async (fanOutId: string, runId: string, ranges: number) => {
    if (await queue.getJob(fanOutId)) return;
    await flows.add({
      name: JOIN_JOB,
      queueName,
      data: { fanOutId, runId } satisfies JoinJobData,
      opts: { jobId: fanOutId, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } },
      children: Array.from({ length: ranges }, (_, part) => ({
        name: RANGE_JOB,
        queueName,
        data: { fanOutId, runId, part } satisfies RangeJobData,
        opts: {
          jobId: rangeJobId(fanOutId, part),
          attempts: RANGE_ATTEMPTS,
          backoff: { type: 'exponential', delay: 2000 },
          failParentOnFailure: true,
          removeOnComplete: true,
          removeOnFail: { age: 24 * 3600 },
        },
      })),
    });
  };

  /** Ends the fan-out and waits (within the timeout) until none of its ranges runs; removes what is left. */
  const stopRanges = async (fanOutId: string, state: 'failed' | 'cancelled') => {
    await fanOuts.finish(fanOutId, state);
    await requestCancel(redis, prefix, fanOutId);
    const deadline = performance.now() + (options.stopTimeoutMs ?? 60_000);
    for (;;) {
      const active = (await queue.getJobs(['active'])).filter((j) => (j.data as RangeJobData | undefined)?.fanOutId === fanOutId);
      if (active.length === 0) break;
      if (performance.now() > deadline) {
        log.warn({ fanOutId, running: active.map((j) => j.id) }, 'ranges still running after the fan-out ended; they stop at their next check of the state database');
        break;
      }
      await sleep(200);
    }
    // A range may start between two looks: it sees the fan-out ended and fails at once, so removal is retried.
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        await (await queue.getJob(fanOutId))?.remove({ removeChildren: true });
        return;
      } catch (err) {
        if (attempt === 5) log.warn({ err, fanOutId }, 'could not remove the range jobs of an ended fan-out');
        await sleep(200);
      }
    }
  };

  const rangeFailure = (record: RangeRecord, ranges: KeyRange[]): PachbackupError => {
    const error = record.error!;
    const code = CODES.includes(error.code as ErrorCode) ? (error.code as ErrorCode) : 'unavailable';
    return new PachbackupError(code, `range ${record.part + 1} of ${ranges.length} (${describeKeyRange(ranges[record.part] ?? {})}) failed on ${record.worker}: ${error.message}`, {
      ...(error.hint ? { hint: error.hint } : {}),
    });
  };

  return {
    async capacity(capacityOptions) {
      const workers = capacityOptions?.local ? 0 : await queue.getWorkersCount();
      return workers === 0 ? options.fallback.capacity() : workers * (options.rangesPerWorker ?? DEFAULT_RANGES_AT_ONCE);
    },
    async run<K extends RangeWorkKind>(request: FanOutRequest<K>): Promise<FanOutResult<K>> {
      const { runId, step, ranges, signal } = request;
      const what = `step ${step} of ${runId}`;
      throwIfCancelled(signal, what);
      if (request.local) return options.fallback.run(request);
      if ((await queue.getWorkersCount()) === 0) {
        log.info({ runId, step, ranges: ranges.length }, 'no worker takes range jobs: running the ranges in this process');
        return options.fallback.run(request);
      }
      const { id: fanOutId, resumed } = await fanOuts.open({ runId, step, work: request.work, ranges });
      if (resumed) log.info({ runId, step, fanOutId }, 'carrying on with the ranges already queued for this step');

      const running = new Map<number, RangeTotalsOf[K]>();
      const finished = new Map<number, RangeRecord>();
      const snapshot = (): FanOutProgress<K> => {
        const parts = ranges.map((_, part) => (finished.get(part)?.totals as RangeTotalsOf[K] | undefined) ?? running.get(part)).filter((t): t is RangeTotalsOf[K] => t !== undefined);
        return { totals: sumTotals(parts), rangesDone: finished.size, ranges: ranges.length, where: 'workers' };
      };
      const progress = createProgressThrottle(snapshot, request.onProgress);
      let wake: (() => void) | undefined;
      let woken = false;
      const partOf = (jobId: string): number | undefined => {
        if (!jobId.startsWith(`${fanOutId}.`)) return undefined;
        const part = Number(jobId.slice(fanOutId.length + 1));
        return Number.isInteger(part) && part >= 0 && part < ranges.length ? part : undefined;
      };
      const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
        const part = partOf(jobId);
        if (part === undefined || typeof data !== 'object' || data === null || finished.has(part)) return;
        running.set(part, data as RangeTotalsOf[K]);
        progress.changed();
      };
      const onSettled = ({ jobId }: { jobId: string }) => {
        if (jobId !== fanOutId && partOf(jobId) === undefined) return;
        woken = true;
        wake?.();
      };
      const noWorkerTimeoutMs = options.noWorkerTimeoutMs ?? 60_000;
      let lastWorkerSeen = performance.now();
      const bus = await queueEvents();
      bus.on('progress', onProgress);
      bus.on('completed', onSettled);
      bus.on('failed', onSettled);
      try {
        await addFlow(fanOutId, runId, ranges.length);
        for (;;) {
          // The join job first, then the records: a range records its totals before its job completes, and the
          // join job is removed once every range completed — so a join found gone means every record is there
          // to read. The other way round, the last range could finish between the two reads and look lost.
          const join = await queue.getJob(fanOutId);
          for (const record of await fanOuts.ranges(fanOutId)) {
            if (record.error) throw rangeFailure(record, ranges);
            if (!finished.has(record.part)) {
              finished.set(record.part, record);
              running.delete(record.part);
              progress.changed();
            }
          }
          if (finished.size === ranges.length) break;
          if (join && (await join.isFailed())) {
            // A range that failed without recording why: it stalled (its worker died) more often than allowed.
            throw new PachbackupError('unavailable', `${what}: a range failed: ${join.failedReason}`, { retryable: true });
          }
          if (!join) {
            log.warn({ fanOutId }, 'the range jobs are gone from Redis; queueing the ranges not yet done again');
            await addFlow(fanOutId, runId, ranges.length);
          }
          if ((await queue.getWorkersCount()) > 0) lastWorkerSeen = performance.now();
          else if (performance.now() - lastWorkerSeen > noWorkerTimeoutMs) {
            throw new PachbackupError('unavailable', `${what}: no worker has been there to take its key ranges for ${Math.round(noWorkerTimeoutMs / 1000)} s (${finished.size} of ${ranges.length} done)`, {
              retryable: true,
              hint: 'start a `pachbackup worker`, then run it again: what was copied is not copied again',
            });
          }
          // However the wait ends (the poll interval, a range settling, a cancel), its listener goes with it:
          // a long copy polls thousands of times on the same run signal.
          if (!woken) await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal.removeEventListener('abort', done);
              wake = undefined;
              resolve();
            };
            const timer = setTimeout(done, pollMs);
            wake = done;
            signal.addEventListener('abort', done, { once: true });
          });
          woken = false;
          throwIfCancelled(signal, what);
        }
      } catch (err) {
        await stopRanges(fanOutId, signal.aborted ? 'cancelled' : 'failed');
        if (signal.aborted) throw cancelledError(what, signal.reason);
        throw err;
      } finally {
        bus.off('progress', onProgress);
        bus.off('completed', onSettled);
        bus.off('failed', onSettled);
      }
      await fanOuts.finish(fanOutId, 'succeeded');
      progress.flush();
      const records = [...finished.values()].sort((a, b) => a.part - b.part);
      const perRange = records.map((r) => r.totals as RangeTotalsOf[K]);
      return {
        totals: sumTotals(perRange)!,
        perRange,
        ranges: ranges.length,
        workers: new Set(records.map((r) => r.worker)).size,
        where: 'workers',
      };
    },
    async close() {
      await Promise.allSettled([events?.close(), queue.close(), flows.close()]);
      for (const connection of connections) connection.disconnect();
    },
  };
}
