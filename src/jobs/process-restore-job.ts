import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Job } from 'bullmq';
import type { ClusterConfig, Config } from '../config/config.js';
import type { DowntimeEstimate } from '../estimate/downtime-estimate.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { openJobRun } from './job-run.js';
import type { RestoreDeps } from '../restore/restore-deps.js';
import type { RestorePlan } from '../restore/restore-plan.js';
import { createRestoreSteps } from '../restore/restore-steps.js';
import { runRestore, type RestoreResult } from '../restore/run-restore.js';
import { createRunEvents } from '../runner/run-event.js';
import { plannedSteps } from '../runner/step.js';
import type { AuditLog } from '../state/audit-log.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';
import type { RestoreJobData } from './operations-queue.js';
import { observeWith, type RunObservation, type RunObserver, type RunStart } from './run-observer.js';

/** What an observer of a restore is told at its start, besides the run: the plan it carries out, and its store. */
export interface RestoreRunStart extends RunStart<RestoreJobData> {
  plan: RestorePlan;
  /** Reads a text object of the backup store the restore reads from (e.g. the Helm values it rendered). */
  readStoreText(key: string): Promise<string>;
}

/** What the restore job processor needs, built by the worker's composition root. */
export interface RestoreJobDeps {
  config: Config;
  runs: RunStore;
  locks: ClusterLocks;
  audit: AuditLog;
  log: Logger;
  depsFor: (data: RestoreJobData) => RestoreDeps & { close(): void };
  /** The downtime of a restore that pauses its target (see `estimateRestoreDowntime`); undefined: none to give. */
  estimate?: (cluster: ClusterConfig, plan: RestorePlan) => Promise<DowntimeEstimate | undefined>;
  /** What follows each restore run (metrics, the Slack messages), started in this order. */
  observers?: RunObserver<RestoreRunStart, RestoreResult>[];
}

/**
 * The BullMQ processor of approved restores: runs the restore with the step runner, emitting its events to the
 * observers (see `RunObserver`: the Slack reporting gives the restore its own message, a pointer in the plan's
 * thread, the users' announcement and the rendered values), and returns the result. `runRestore` takes the
 * cluster lock and plans again, refusing unless the fingerprint is the approved one. An attempt picked up after
 * its worker died takes the lock over and resumes from the checkpoints; a restore already finished is not run
 * twice.
 */
export function createRestoreJobProcessor(deps: RestoreJobDeps) {
  return async (job: Job<RestoreJobData>, _token?: string, signal?: AbortSignal): Promise<RestoreResult | { id: string; status: string }> => {
    const data = job.data;
    const log = deps.log.child({ runId: data.runId, cluster: data.cluster, jobId: job.id });
    const opened = await openJobRun(deps, data, log);
    if (opened.done) return opened.done;
    const { cluster, existing } = opened;
    const estimate = data.estimate ?? (await estimateOrNone(deps, cluster, data.plan, log));
    const restoreDeps = deps.depsFor(data);
    const events = createRunEvents((err) => log.warn({ err }, 'a run event listener failed'));
    let observation: Required<RunObservation<RestoreResult>> | undefined;
    try {
      observation = await observeWith(deps.observers ?? [], {
        job,
        events,
        steps: plannedSteps(createRestoreSteps(restoreDeps, data.plan)),
        createdAt: existing?.createdAt ?? new Date(),
        ...(estimate ? { estimate } : {}),
        plan: data.plan,
        readStoreText: (key) => readText(restoreDeps, key),
      });
      // A run that already started belongs to a dead worker (BullMQ gave us its stalled job): take over its lock.
      if (existing && existing.phase !== 'queued') {
        restoreDeps.session.lock = await deps.locks.takeOver(data.cluster, { runId: data.runId, kind: 'restore', requestedBy: data.requestedBy }, signal);
      }
      const result = await runRestore({ deps: restoreDeps, plan: data.plan, events, log, ...(signal ? { signal } : {}), ...(estimate ? { estimate } : {}) });
      await deps.audit.record({
        actor: 'pachbackup',
        action: 'restore',
        cluster: data.cluster,
        runId: data.runId,
        outcome: result.status === 'succeeded' || result.status === 'partially-failed' ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed',
        detail: { via: 'slack', backupId: data.plan.backup.id, fingerprint: data.plan.fingerprint, status: result.status, error: result.error, requestedBy: data.requestedBy, approvedBy: data.approvedBy, downtimeSeconds: result.downtimeSeconds, estimatedSeconds: estimate?.expectedSeconds },
      });
      await observation.finish(result);
      return result;
    } finally {
      observation?.stop();
      restoreDeps.close();
    }
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
