import type { Job } from 'bullmq';
import type { BackupDeps } from '../backup/backup-deps.js';
import { createBackupSteps } from '../backup/backup-steps.js';
import { runBackup, type BackupResult } from '../backup/run-backup.js';
import type { Config } from '../config/config.js';
import type { DowntimeEstimate } from '../estimate/downtime-estimate.js';
import type { Logger } from '../log.js';
import type { Shutdown } from '../runtime/graceful-shutdown.js';
import { createRunEvents } from '../runner/run-event.js';
import { plannedSteps } from '../runner/step.js';
import type { AuditLog } from '../state/audit-log.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import type { RunRecord, RunStore } from '../state/run-store.js';
import { handJobBack } from './hand-back.js';
import type { JobAuthority, JobRefusal } from './job-authority.js';
import { openJobRun, refuseJob, subjectOf } from './job-run.js';
import type { BackupJobData } from './operations-queue.js';
import { observeWith, type RunObservation, type RunObserver, type RunStart } from './run-observer.js';

/** What the backup job processor needs, built by the worker's composition root. */
export interface BackupJobDeps {
  config: Config;
  runs: RunStore;
  locks: ClusterLocks;
  audit: AuditLog;
  log: Logger;
  /** Decides from the state database whether the job's run may run (see job-authority). */
  authority: Pick<JobAuthority, 'backup'>;
  depsFor: (run: RunRecord) => BackupDeps & { close(): void };
  /** What follows each backup run (metrics, the Slack thread), started in this order. */
  observers?: RunObserver<RunStart<BackupJobData>, BackupResult>[];
  /** Told about a job refused (to say why in Slack). */
  onRefused?: (refusal: JobRefusal) => Promise<void>;
  /** The worker stopping: the run is handed back, finished or undone before its deadline (see `runSteps`). */
  shutdown?: Shutdown;
}

/**
 * The BullMQ processor of backup jobs: runs the backup the job names — only a run confirmed in Slack or made by a
 * schedule, as the state database records it (see job-authority; anything else is refused and audited) — with the
 * step runner, emitting its events to the observers (see `RunObserver`), and returns the result. A job seen again
 * (its worker died: BullMQ's stalled-job recovery) resumes the run from its checkpoints — the cluster stays
 * consistent, and ends resumed either way; a run already finished is not run twice. Cancellation arrives as the
 * processor's AbortSignal.
 */
export function createBackupJobProcessor(deps: BackupJobDeps) {
  return async (job: Job<BackupJobData>, token?: string, signal?: AbortSignal): Promise<BackupResult | { id: string; status: string }> => {
    const authorized = await deps.authority.backup(job);
    if (!authorized.ok) return refuseJob(deps, authorized.refusal, deps.log.child({ jobId: job.id }));
    const { run } = authorized;
    const log = deps.log.child({ runId: run.id, cluster: run.cluster, jobId: job.id });
    const opened = await openJobRun(deps, { runId: run.id, cluster: run.cluster }, log);
    if (opened.done) return opened.done;
    const { existing } = opened;
    // Fetched as the worker began to stop: another worker runs it.
    if (deps.shutdown?.signal.aborted && (!existing || existing.phase === 'queued')) return handJobBack(job, token, log);
    const estimate = (run.estimate ?? undefined) as DowntimeEstimate | undefined;
    const backupDeps = deps.depsFor(run);
    const events = createRunEvents((err) => log.warn({ err }, 'a run event listener failed'));
    let observation: Required<RunObservation<BackupResult>> | undefined;
    try {
      observation = await observeWith(deps.observers ?? [], {
        job,
        run: subjectOf(run),
        events,
        steps: plannedSteps(createBackupSteps(backupDeps)),
        createdAt: run.createdAt,
        ...(estimate ? { estimate } : {}),
      });
      // A run that already started belongs to a dead worker (BullMQ gave us its stalled job): take over its lock.
      if (existing && existing.phase !== 'queued') backupDeps.session.lock = await deps.locks.takeOver(run.cluster, { runId: run.id, kind: 'backup', requestedBy: run.requestedBy }, signal);
      const result = await runBackup({ deps: backupDeps, events, log, ...(signal ? { signal } : {}), ...(deps.shutdown ? { shutdown: deps.shutdown } : {}) });
      if (result.handedBack) {
        await observation.finish(result);
        return await handJobBack(job, token, log);
      }
      await deps.audit.record({
        actor: 'pachbackup',
        action: 'backup',
        cluster: run.cluster,
        runId: run.id,
        outcome: result.status === 'succeeded' || result.status === 'partially-failed' ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed',
        detail: { status: result.status, error: result.error, requestedBy: run.requestedBy, downtimeSeconds: result.downtimeSeconds, estimatedSeconds: estimate?.expectedSeconds },
      });
      await observation.finish(result);
      return result;
    } finally {
      observation?.stop();
      backupDeps.close();
    }
  };
}
