import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from '../log.js';
import { startQueueWorker } from '../jobs/start-queue-worker.js';
import { createFanOutStore } from './fan-out-store.js';
import { DEFAULT_RANGES_AT_ONCE } from './fan-out.js';
import { createRangeJobProcessor } from './process-range-job.js';
import { RANGE_JOB, rangesQueueName, type JoinJobData, type RangeJobData } from './range-queue.js';
import type { RangeRunner } from './run-range.js';

/**
 * Takes range jobs off the ranges queue, `concurrency` at a time (each with its cluster's copies in flight), in
 * every worker process. A cancel request naming a run or a fan-out stops that run's (or fan-out's) ranges here
 * at once. A range whose worker dies is given to another after `lockDurationMs` (stalled-job recovery), at
 * most three times.
 */
export async function startRangeWorker(options: {
  prefix: string;
  redis: Redis;
  pool: pg.Pool;
  runRange: RangeRunner;
  log: Logger;
  concurrency?: number;
  lockDurationMs?: number;
}) {
  const { prefix, redis, log } = options;
  const name = `${hostname()}:${process.pid}`;
  const process_ = createRangeJobProcessor({
    fanOuts: createFanOutStore(options.pool),
    runRange: options.runRange,
    worker: name,
    log: log.child({ component: 'ranges' }),
  });
  /** Ranges running in this process, by job id: what a cancel request is matched against. */
  const running = new Map<string, RangeJobData>();
  const started = await startQueueWorker<RangeJobData | JoinJobData>({
    queueName: rangesQueueName(prefix),
    redis,
    prefix,
    // Recorded on each job it takes (processedBy) and with each range it finishes: which process copied what.
    name,
    concurrency: options.concurrency ?? DEFAULT_RANGES_AT_ONCE,
    lockDurationMs: options.lockDurationMs ?? 30_000,
    async processor(job, token, signal) {
      if (job.name !== RANGE_JOB || !job.id) return process_(job, token, signal);
      running.set(job.id, job.data as RangeJobData);
      try {
        return await process_(job, token, signal);
      } finally {
        running.delete(job.id);
      }
    },
    onCancel(id, worker) {
      for (const [jobId, data] of running) if (data.runId === id || data.fanOutId === id) worker.cancelJob(jobId, 'cancelled');
    },
  });
  started.worker.on('failed', (job, err) => log.warn({ err: err.message, jobId: job?.id }, 'range job failed'));
  started.worker.on('stalled', (jobId) => log.warn({ jobId }, 'a worker died while copying this range; another takes it'));
  return started;
}
