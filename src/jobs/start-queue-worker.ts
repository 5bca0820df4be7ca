import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { onCancelRequest } from './cancel-requests.js';

/** What a worker of one of pachbackup's queues needs; see `startQueueWorker`. */
export interface QueueWorkerOptions<T> {
  queueName: string;
  /** The process's Redis connection: the worker takes a duplicate of its own, closed by `stop`. */
  redis: Redis;
  /** The Redis key prefix, whose cancel channel the worker listens on. */
  prefix: string;
  processor: (job: Job<T>, token?: string, signal?: AbortSignal) => Promise<unknown>;
  concurrency: number;
  /** How long a job's lock lasts; a job whose worker died is taken again after it (stalled-job recovery, three times). */
  lockDurationMs: number;
  /** Recorded on each job the worker takes (processedBy). */
  name?: string;
  /** A cancel request naming `id` (a run, or a fan-out): cancel what this worker runs for it. */
  onCancel: (id: string, worker: Worker<T>) => void;
  /** The worker's connection failed (BullMQ reconnects). */
  onError?: (err: Error) => void;
}

/**
 * A BullMQ worker as every pachbackup process runs one (operations and key ranges alike): its own Redis
 * connection, the job lock and stalled-job recovery of `lockDurationMs`, and cancel requests (Redis pub/sub)
 * handed to `onCancel`. Resolves once the worker is ready. `stop` takes no new job, stops hearing cancel
 * requests, waits for the running jobs to end, and closes the connection.
 */
export async function startQueueWorker<T>(options: QueueWorkerOptions<T>): Promise<{ worker: Worker<T>; stop(): Promise<void> }> {
  // BullMQ leaves a connection it is given open: closed in `stop`.
  const connection = options.redis.duplicate({ maxRetriesPerRequest: null });
  connection.on('error', () => undefined); // BullMQ reports what fails; ioredis reconnects
  const worker = new Worker<T>(options.queueName, options.processor, {
    ...(options.name ? { name: options.name } : {}),
    connection,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: Math.max(1000, Math.floor(options.lockDurationMs / 2)),
    maxStalledCount: 3,
  });
  worker.on('error', options.onError ?? (() => undefined));
  const stopCancels = await onCancelRequest(options.redis, options.prefix, (id) => options.onCancel(id, worker));
  await worker.waitUntilReady();
  return {
    worker,
    async stop() {
      const closing = worker.close();
      await stopCancels();
      await closing;
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
