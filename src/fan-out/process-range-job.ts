import { UnrecoverableError, type Job } from 'bullmq';
import { describeError, PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import { linkAbort } from '../object-store/abort-link.js';
import { describeKeyRange } from '../object-store/key-ranges.js';
import { ACTIVE_PHASES } from '../runner/run-phase.js';
import type { FanOutStore } from './fan-out-store.js';
import { JOIN_JOB, type JoinJobData, type RangeJobData } from './range-queue.js';
import type { RangeTotals } from './range-work.js';
import type { RangeRunner } from './run-range.js';

/** What the range job processor needs, from the worker's composition root. */
export interface RangeJobDeps {
  fanOuts: FanOutStore;
  runRange: RangeRunner;
  /** This process, as recorded with each range it finishes ("host:pid"). */
  worker: string;
  log: Logger;
  /** How often a running range asks the state database whether its fan-out and run still go on (default 2 s). */
  recheckMs?: number;
}

/** Progress sent to the queue at most this often per range (each is a Redis event the asking step sums). */
const PROGRESS_INTERVAL_MS = 1000;

/**
 * The processor of the ranges queue. A range job copies only what the state database says: it reads its
 * fan-out's work and its range by id, and copies only while the fan-out is running and its run is active —
 * checked before it starts and every few seconds while it runs (and at once when a cancel request names the
 * run or the fan-out). When it is done it records its totals in the state database, which is what the asking
 * step sums; a range an earlier attempt already finished returns those totals without copying again.
 *
 * Failures: a run or fan-out that is over, a PachbackupError that says trying again cannot help, and
 * cancellation end the range without retries (BullMQ's UnrecoverableError); anything else is retried with
 * backoff, and the last attempt's error is recorded for the asking step to report. The join job of a flow
 * (which BullMQ runs once every range succeeded) has nothing to do.
 */
export function createRangeJobProcessor(deps: RangeJobDeps) {
  const recheckMs = deps.recheckMs ?? 2000;
  return async (job: Job<RangeJobData | JoinJobData>, _token?: string, signal?: AbortSignal): Promise<RangeTotals | null> => {
    if (job.name === JOIN_JOB) return null;
    const { fanOutId, runId, part } = job.data as RangeJobData;
    const log = deps.log.child({ runId, fanOutId, part, jobId: job.id });
    const assignment = await deps.fanOuts.assignment(fanOutId, part);
    if (!assignment || assignment.runId !== runId) throw new UnrecoverableError(`no range ${part} of fan-out ${fanOutId} for run ${runId} in the state database`);
    if (assignment.done) return assignment.done.totals;
    const where = `range ${part + 1} of ${assignment.ranges} (${describeKeyRange(assignment.range)}) of ${fanOutId}`;
    if (assignment.state !== 'running') throw new UnrecoverableError(`${where}: the copy was ${assignment.state}; not copying`);
    if (!ACTIVE_PHASES.includes(assignment.runPhase)) throw new UnrecoverableError(`${where}: run ${runId} is ${assignment.runPhase}; not copying`);

    const link = linkAbort(signal);
    const recheck = setInterval(() => {
      deps.fanOuts.stillRunning(fanOutId, ACTIVE_PHASES).then(
        (going) => {
          if (!going) link.abort(new PachbackupError('cancelled', `${where}: the copy or its run ended`));
        },
        (err: unknown) => log.warn({ err: describeError(err) }, 'could not check whether the fan-out still runs'),
      );
    }, recheckMs);
    let lastProgress = 0;
    try {
      const totals = await deps.runRange(assignment.work, assignment.range, {
        signal: link.signal,
        part,
        onProgress: (sofar) => {
          const now = performance.now();
          if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
          lastProgress = now;
          void job.updateProgress(sofar as unknown as object).catch(() => undefined);
        },
      });
      await deps.fanOuts.recordRange(fanOutId, part, { worker: deps.worker, totals });
      return totals;
    } catch (err) {
      const retryable = !link.signal.aborted && (!(err instanceof PachbackupError) || err.retryable);
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (link.signal.aborted) throw new UnrecoverableError(`${where}: cancelled`);
      if (!retryable || last) {
        const error = err instanceof PachbackupError ? { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } : { code: 'unavailable', message: describeError(err) };
        await deps.fanOuts.recordRange(fanOutId, part, { worker: deps.worker, error });
        log.warn({ err: describeError(err) }, 'range failed; no attempts left');
      } else {
        log.warn({ err: describeError(err), attempt: job.attemptsMade + 1 }, 'range failed; it will be tried again');
      }
      if (!retryable) throw new UnrecoverableError(`${where}: ${describeError(err)}`);
      throw err;
    } finally {
      clearInterval(recheck);
      link.dispose();
    }
  };
}
