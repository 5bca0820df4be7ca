import { Worker } from 'bullmq';
import type { WebClient } from '@slack/web-api';
import { recoverInterruptedRuns } from '../backup/recover-interrupted.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { createRunEvents } from '../runner/run-event.js';
import { backupDepsFor } from '../runtime/backup-deps-for.js';
import type { StateConnections } from '../runtime/connect-state.js';
import { createRunReporter } from '../slack/run-reporter.js';
import { onCancelRequest } from './cancel-requests.js';
import { operationsQueueName, type BackupJobData } from './operations-queue.js';
import { createBackupJobProcessor } from './process-backup-job.js';

/**
 * A worker: takes operations off the queue and runs them, as many processes as you like. At start it ends
 * backups left in flight by a dead CLI process (jobs of dead workers come back through BullMQ's stalled-job
 * recovery instead, and resume from their checkpoints). Cancel requests arrive over Redis pub/sub.
 */
export async function startWorker(options: {
  config: Config;
  state: StateConnections;
  log: Logger;
  slack?: WebClient;
  concurrency?: number;
  fallbackZone?: string;
  /** Shorter BullMQ lock and stall intervals, for tests of worker death. */
  lockDurationMs?: number;
}) {
  const { config, state, log, slack } = options;
  const queueName = operationsQueueName(config.redis.prefix);
  const lockDuration = options.lockDurationMs ?? 30_000;
  const processor = createBackupJobProcessor({
    config,
    runs: state.runs,
    locks: state.locks,
    audit: state.audit,
    log,
    depsFor: (data: BackupJobData) => backupDepsFor(config.clusters[data.cluster]!, state, { id: data.runId, requestedBy: data.requestedBy, ...(data.note ? { note: data.note } : {}) }),
    report: (data, events, plan, createdAt) =>
      slack && data.slack
        ? createRunReporter({
            client: slack,
            target: data.slack,
            cluster: config.clusters[data.cluster]!,
            run: { id: data.runId, kind: 'backup', requestedBy: data.requestedBy, ...(data.note ? { note: data.note } : {}), ...(data.estimate ? { estimate: data.estimate } : {}), createdAt: createdAt.toISOString() },
            plan,
            events,
            log,
            ...(options.fallbackZone ? { fallbackZone: options.fallbackZone } : {}),
          })
        : undefined,
  });

  // Runs started by a CLI that died: no job will come back for them.
  const hasJob = async (runId: string) => {
    const { Queue } = await import('bullmq');
    const queue = new Queue(queueName, { connection: state.redis.duplicate() });
    try {
      return (await queue.getJob(runId)) !== undefined;
    } finally {
      await queue.close();
    }
  };
  await recoverInterruptedRuns({
    config,
    runs: state.runs,
    locks: state.locks,
    log,
    events: createRunEvents(),
    depsFor: (run) => backupDepsFor(config.clusters[run.cluster]!, state, { id: run.id, requestedBy: run.requestedBy }),
    only: async (run) => !(await hasJob(run.id)),
  });

  const worker = new Worker<BackupJobData>(queueName, processor, {
    connection: state.redis.duplicate({ maxRetriesPerRequest: null }),
    concurrency: options.concurrency ?? 4,
    lockDuration,
    stalledInterval: Math.max(1000, Math.floor(lockDuration / 2)),
    maxStalledCount: 3,
  });
  worker.on('failed', (job, err) => log.error({ err, jobId: job?.id }, 'operation job failed'));
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'a worker died while running this job; it runs again from its checkpoints'));
  const stopCancels = await onCancelRequest(state.redis, config.redis.prefix, (runId) => {
    if (worker.cancelJob(runId, 'cancelled from Slack')) log.info({ runId }, 'cancelling');
  });
  await worker.waitUntilReady();
  return {
    worker,
    async stop() {
      await stopCancels();
      await worker.close();
    },
  };
}
