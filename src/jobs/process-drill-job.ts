import type { Job } from 'bullmq';
import type { Config } from '../config/config.js';
import { createDrillSteps, type DrillDeps } from '../drill/drill-steps.js';
import { runDrill, type DrillResult } from '../drill/run-drill.js';
import type { Logger } from '../log.js';
import type { Shutdown } from '../runtime/graceful-shutdown.js';
import { createRunEvents } from '../runner/run-event.js';
import { plannedSteps } from '../runner/step.js';
import type { AuditLog } from '../state/audit-log.js';
import type { RunRecord, RunStore } from '../state/run-store.js';
import type { JobAuthority, JobRefusal } from './job-authority.js';
import { openJobRun, refuseJob, subjectOf } from './job-run.js';
import type { DrillJobData } from './operations-queue.js';
import { observeWith, type RunObservation, type RunObserver, type RunStart } from './run-observer.js';

/** What the drill job processor needs, built by the worker's composition root. */
export interface DrillJobDeps {
  config: Config;
  runs: RunStore;
  audit: AuditLog;
  log: Logger;
  /** Decides from the state database whether the job's drill may run (see job-authority). */
  authority: Pick<JobAuthority, 'drill'>;
  depsFor: (run: RunRecord) => DrillDeps & { close(): void };
  /** What follows each drill (the Slack thread's checks and verdict), started in this order. */
  observers?: RunObserver<RunStart<DrillJobData>, DrillResult>[];
  /** Told about a job refused (to say why in Slack). */
  onRefused?: (refusal: JobRefusal) => Promise<void>;
  /** The worker stopping: a drill is cancelled (its scratch removed) — it touches nothing of the cluster; run it again. */
  shutdown?: Shutdown;
}

/**
 * The BullMQ processor of drill jobs: runs the drill the job names — only one the app recorded when an operator
 * asked for it (see job-authority) — with `runDrill` (no cluster lock — a drill never touches the cluster),
 * emitting its events to the observers, audits the outcome, and returns the result, which the observers are given
 * last (the Slack reporting puts each check and the verdict in the thread). A drill already finished (a job seen
 * again after its worker died) is not run twice.
 */
export function createDrillJobProcessor(deps: DrillJobDeps) {
  return async (job: Job<DrillJobData>, _token?: string, signal?: AbortSignal): Promise<DrillResult | { id: string; status: string }> => {
    const authorized = await deps.authority.drill(job);
    if (!authorized.ok) return refuseJob(deps, authorized.refusal, deps.log.child({ jobId: job.id }));
    const { run } = authorized;
    const log = deps.log.child({ runId: run.id, cluster: run.cluster, jobId: job.id });
    const opened = await openJobRun(deps, { runId: run.id, cluster: run.cluster }, log);
    if (opened.done) return opened.done;
    const drillDeps = deps.depsFor(run);
    const events = createRunEvents((err) => log.warn({ err }, 'a run event listener failed'));
    let observation: Required<RunObservation<DrillResult>> | undefined;
    try {
      observation = await observeWith(deps.observers ?? [], { job, run: subjectOf(run), events, steps: plannedSteps(createDrillSteps(drillDeps)), createdAt: run.createdAt });
      const stop = [signal, deps.shutdown?.signal].filter((s) => s !== undefined);
      const result = await runDrill({ deps: drillDeps, events, log, ...(stop.length > 0 ? { signal: AbortSignal.any(stop) } : {}) });
      await deps.audit.record({
        actor: 'pachbackup',
        action: 'drill',
        cluster: run.cluster,
        runId: run.id,
        outcome: result.ok ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed',
        detail: { backupId: result.backupId, status: result.status, error: result.error, requestedBy: run.requestedBy, failedChecks: result.checks.filter((c) => !c.ok).map((c) => c.name) },
      });
      await observation.finish(result);
      return result;
    } finally {
      observation?.stop();
      drillDeps.close();
    }
  };
}
