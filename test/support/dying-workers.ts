import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { startCli, type CliProcess } from './cli-process.js';

/** A `pachbackup worker` process with short job locks and lease, so that its death is noticed within seconds. */
export function startDyingWorker(configFile: string): CliProcess {
  return startCli(['worker', '--config', configFile], { PACHBACKUP_JOB_LOCK_MS: '2000', PACHBACKUP_LOCK_TTL_MS: '3000', LOG_LEVEL: 'silent' });
}

/** SIGKILLs `worker` and resolves once it has exited. */
export async function killWorker(worker: CliProcess): Promise<void> {
  worker.kill();
  await worker.exited;
}

/**
 * After job `jobId`'s first worker was killed: BullMQ gives a job back after a worker dies, three times
 * (maxStalledCount); each later worker dies as soon as it has taken the job again — as a worker killed for memory
 * on every attempt would. The next worker finds the job failed (stalled too often).
 */
export async function killEveryAttempt(queue: Queue, configFile: string, jobId: string): Promise<void> {
  for (let attempt = 2; attempt <= 4; attempt++) {
    const worker = startDyingWorker(configFile);
    for (let i = 0; i < 300; i++) {
      const job = await queue.getJob(jobId);
      if ((job?.attemptsStarted ?? 0) >= attempt && (await job?.isActive())) break;
      await sleep(100);
    }
    const started = (await queue.getJob(jobId))?.attemptsStarted ?? 0;
    await killWorker(worker);
    if (started < attempt) throw new Error(`job ${jobId} was not taken again (attempt ${attempt}) within 30 s: ${started} attempts started`);
  }
}
