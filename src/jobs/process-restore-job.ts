import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Job } from 'bullmq';
import type { ClusterConfig, Config } from '../config/config.js';
import type { DowntimeEstimate } from '../estimate/downtime-estimate.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Shutdown } from '../runtime/graceful-shutdown.js';
import { handJobBack } from './hand-back.js';
import type { AuthorizedRestore, JobAuthority, JobRefusal } from './job-authority.js';
import { openJobRun, refuseJob } from './job-run.js';
import type { RestoreDeps } from '../restore/restore-deps.js';
import type { RestorePlan } from '../restore/restore-plan.js';
import { helmValuesSource, redactHelmValuesFile } from '../restore/render-helm-values.js';
import { createRestoreSteps } from '../restore/restore-steps.js';
import { runRestore, type RestoreResult } from '../restore/run-restore.js';
import { createRunEvents, type RunEvents } from '../runner/run-event.js';
import { plannedSteps } from '../runner/step.js';
import type { AuditLog } from '../state/audit-log.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';
import type { RestoreJobData } from './operations-queue.js';
import { observeWith, type RunObservation, type RunObserver, type RunStart } from './run-observer.js';

/** What an observer of a restore is told at its start, besides the run: the plan it carries out, and its store. */
export interface RestoreRunStart extends RunStart<RestoreJobData> {
  /** The approved plan, as stored with the request. */
  plan: RestorePlan;
  /** The distinct approvers (Slack user ids), from the state database. */
  approvedBy: string[];
  /** The plan message in the target's ops channel, where the request was approved. */
  planMessage?: { channel: string; ts: string };
  /**
   * Reads a text object of the backup store the restore reads from (e.g. the Helm values it rendered) as it may
   * leave the store: every secret replaced by a placeholder naming the object and the command that prints it.
   */
  readStoreText(key: string): Promise<string>;
}

/** What the restore job processor needs, built by the worker's composition root. */
export interface RestoreJobDeps {
  config: Config;
  runs: RunStore;
  locks: ClusterLocks;
  audit: AuditLog;
  log: Logger;
  /** Decides from the state database whether the job's restore may run, and claims it (see job-authority). */
  authority: Pick<JobAuthority, 'restore'>;
  depsFor: (restore: AuthorizedRestore) => RestoreDeps & { close(): void };
  /** The downtime of a restore that pauses its target (see `estimateRestoreDowntime`); undefined: none to give. */
  estimate?: (cluster: ClusterConfig, plan: RestorePlan) => Promise<DowntimeEstimate | undefined>;
  /** What follows each restore run (metrics, the Slack messages), started in this order. */
  observers?: RunObserver<RestoreRunStart, RestoreResult>[];
  /** Told about a job refused (to say why in Slack). */
  onRefused?: (refusal: JobRefusal) => Promise<void>;
  /** The worker stopping: the run is handed back, finished or undone before its deadline (see `runSteps`). */
  shutdown?: Shutdown;
}

/**
 * The BullMQ processor of approved restores: runs the restore request the job names only as the state database
 * records it approved — claimed once, by people who still hold the rights (see job-authority; anything else is
 * refused and audited with the reason, touching nothing) — with the stored plan, which the run's first step plans
 * again and refuses unless the fingerprint is the approved one. Its events go to the observers (see
 * `RunObserver`: the Slack reporting gives the restore its own message, a pointer in the plan's thread, the users'
 * announcement and the rendered values), and it returns the result. `runRestore` takes the cluster lock. An
 * attempt picked up after its worker died takes the lock over and resumes from the checkpoints; a restore already
 * finished is not run twice. The audit names the requester and approvers the state database has.
 */
export function createRestoreJobProcessor(deps: RestoreJobDeps) {
  return async (job: Job<RestoreJobData>, token?: string, signal?: AbortSignal): Promise<RestoreResult | { id: string; status: string }> => {
    const authorized = await deps.authority.restore(job);
    if (!authorized.ok) return refuseJob(deps, authorized.refusal, deps.log.child({ jobId: job.id }));
    const { request, runId } = authorized;
    const plan = request.plan;
    const log = deps.log.child({ runId, cluster: request.cluster, jobId: job.id });
    const opened = await openJobRun(deps, { runId, cluster: request.cluster }, log);
    if (opened.done) return opened.done;
    const { cluster, existing } = opened;
    // Fetched as the worker began to stop: another worker runs it.
    if (deps.shutdown?.signal.aborted && (!existing || existing.phase === 'queued')) return handJobBack(job, token, log);
    const estimate = ((existing?.estimate ?? undefined) as DowntimeEstimate | undefined) ?? (await estimateOrNone(deps, cluster, plan, log));
    const restoreDeps = deps.depsFor(authorized);
    const events = createRunEvents((err) => log.warn({ err }, 'a run event listener failed'));
    const requestedBy = `<@${request.requestedBy}>`;
    let observation: Required<RunObservation<RestoreResult>> | undefined;
    try {
      observation = await observeWith(deps.observers ?? [], restoreRunStart({ job, authorized, restoreDeps, events, createdAt: existing?.createdAt ?? new Date(), ...(estimate ? { estimate } : {}) }));
      // A run that already started belongs to a dead worker (BullMQ gave us its stalled job): take over its lock.
      if (existing && existing.phase !== 'queued') {
        restoreDeps.session.lock = await deps.locks.takeOver(request.cluster, { runId, kind: 'restore', requestedBy }, signal);
      }
      const result = await runRestore({ deps: restoreDeps, plan, events, log, ...(signal ? { signal } : {}), ...(estimate ? { estimate } : {}), ...(deps.shutdown ? { shutdown: deps.shutdown } : {}) });
      if (result.handedBack) {
        await observation.finish(result);
        return await handJobBack(job, token, log);
      }
      await deps.audit.record({
        actor: 'pachbackup',
        action: 'restore',
        cluster: request.cluster,
        runId,
        // Ended before changing anything (the plan changed, the backup failed verification, the cluster was busy).
        outcome: result.status === 'succeeded' || result.status === 'partially-failed' ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : result.status === 'failed-validation' ? 'refused' : 'failed',
        detail: {
          via: 'slack',
          requestId: request.id,
          backupId: plan.backup.id,
          sourceCluster: request.sourceCluster,
          targetCluster: request.cluster,
          fingerprint: request.fingerprint,
          status: result.status,
          error: result.error,
          ...(result.status === 'failed-validation' && result.error ? { reason: result.error } : {}),
          requestedBy: request.requestedBy,
          approvedBy: authorized.approvedBy,
          downtimeSeconds: result.downtimeSeconds,
          estimatedSeconds: estimate?.expectedSeconds,
        },
      });
      await observation.finish(result);
      return result;
    } finally {
      observation?.stop();
      restoreDeps.close();
    }
  };
}

/**
 * What a restore's observers are told at its start, from the approved request as the state database has it: the
 * job's attempt builds it, and so does the worker that ends a run whose job BullMQ gave up on (see start-worker),
 * so that both report to the same Slack messages.
 */
export function restoreRunStart(start: {
  job: Job<RestoreJobData>;
  authorized: Pick<AuthorizedRestore, 'request' | 'runId' | 'approvedBy'>;
  restoreDeps: RestoreDeps;
  events: RunEvents;
  createdAt: Date;
  estimate?: DowntimeEstimate;
}): RestoreRunStart {
  const { job, authorized, restoreDeps, events, createdAt, estimate } = start;
  const { request, runId } = authorized;
  const plan = request.plan;
  return {
    job,
    run: { id: runId, cluster: request.cluster, requestedBy: `<@${request.requestedBy}>`, note: `restores backup ${plan.backup.id}${plan.inPlace ? ' in place' : ''}` },
    events,
    steps: plannedSteps(createRestoreSteps(restoreDeps, plan)),
    createdAt,
    ...(estimate ? { estimate } : {}),
    plan,
    approvedBy: authorized.approvedBy,
    ...(request.slack ? { planMessage: request.slack } : {}),
    readStoreText: async (key) => redactHelmValuesFile(await readText(restoreDeps, key), helmValuesSource(restoreDeps.backup.store, key, plan.backup.id, restoreDeps.restoreId)),
  };
}

async function estimateOrNone(deps: RestoreJobDeps, cluster: ClusterConfig, plan: RestorePlan, log: Logger): Promise<DowntimeEstimate | undefined> {
  if (!plan.pause.needed || !deps.estimate) return undefined;
  try {
    return await deps.estimate(cluster, plan);
  } catch (err) {
    log.warn({ err: describeError(err) }, 'could not estimate the restore downtime; it is announced without one');
    return undefined;
  }
}

async function readText(deps: RestoreDeps, key: string): Promise<string> {
  const res = await deps.backup.s3.send(new GetObjectCommand({ Bucket: deps.backup.store.bucket, Key: key }));
  return res.Body!.transformToString();
}
