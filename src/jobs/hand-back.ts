import { WaitingError, type Job } from 'bullmq';
import type { Logger } from '../log.js';

/**
 * Gives a job whose run was handed back (see `runSteps`: its worker is shutting down, or lost its cluster lock,
 * outside the pause) back to the queue, at the head of the waiting list, for the next worker to carry on from its
 * checkpoints — BullMQ's way to return an active job (`moveToWait`, then `WaitingError` so the worker neither
 * completes nor fails it). A job that vanished (Redis restarted without its data) cannot be moved: the state
 * database still says the run is queued, and recovery queues it again.
 */
export async function handJobBack(job: Job, token: string | undefined, log: Logger): Promise<never> {
  try {
    await job.moveToWait(token);
    log.info({ jobId: job.id }, 'job handed back to the queue');
  } catch (err) {
    log.warn({ err, jobId: job.id }, 'could not hand the job back (is it gone from Redis?); recovery queues the run again');
  }
  throw new WaitingError();
}
