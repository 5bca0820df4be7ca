import type { Logger } from '../log.js';
import { isProcessRunning } from '../runtime/is-process-running.js';
import { runLeftBehind } from '../state/run-lease.js';
import type { RunStore } from '../state/run-store.js';
import type { BackupJobData, DrillJobData, OperationsQueue, RestoreJobData } from './operations-queue.js';

/**
 * Queues again every run the state database says is waiting or in flight, that no live process holds, that was
 * given to workers as a job (recorded with the run when it was queued) and whose job Redis no longer has — Redis
 * restarted without its data, or was replaced. A worker then carries it on from its checkpoints, as it would the
 * job of a worker that died. Jobs Redis still has are left to BullMQ. Returns the ids of the runs queued again.
 */
export async function requeueVanishedJobs(options: { runs: RunStore; queue: OperationsQueue; log: Logger }): Promise<string[]> {
  const { runs, queue, log } = options;
  const requeued: string[] = [];
  for (const run of await runs.listRuns({ phases: ['queued', 'validating', 'running'], limit: 200 })) {
    const job = run.job as BackupJobData | RestoreJobData | DrillJobData | null;
    if (!job || job.runId !== run.id) continue; // run by the CLI itself, not by workers
    if (await queue.queue.getJob(run.id)) continue;
    if (!(await runLeftBehind(runs, run, isProcessRunning))) continue; // a live process holds it
    await queue.queue.add(job.kind, job, { jobId: run.id });
    log.warn({ runId: run.id, phase: run.phase }, 'queued a run again: its job was gone from Redis');
    requeued.push(run.id);
  }
  return requeued;
}

/** The BullMQ job of `runId` has ended (completed or failed) although its run has not: nothing will run it again. */
export async function jobEnded(queue: OperationsQueue, runId: string): Promise<boolean> {
  const job = await queue.queue.getJob(runId);
  if (!job) return false;
  const state = await job.getState();
  return state === 'completed' || state === 'failed';
}
