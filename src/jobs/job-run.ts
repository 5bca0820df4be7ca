import type { ClusterConfig, Config } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import { isFinal } from '../runner/run-phase.js';
import type { AuditLog } from '../state/audit-log.js';
import type { RunRecord, RunStore } from '../state/run-store.js';
import type { JobRefusal } from './job-authority.js';
import type { SlackRunTarget } from './operations-queue.js';
import type { RunSubject } from './run-observer.js';

/**
 * Where a job for run `runId` on `cluster` starts: the run as recorded (absent for a drill or restore not started
 * yet; not 'queued' for one a dead worker had started), or `done` when it already finished — a job seen again is
 * never run twice. Throws when this worker's config does not have the cluster.
 */
export async function openJobRun(
  deps: { config: Config; runs: RunStore },
  data: { runId: string; cluster: string },
  log: Logger,
): Promise<{ done: { id: string; status: string } } | { done?: undefined; cluster: ClusterConfig; existing: RunRecord | undefined }> {
  const existing = await deps.runs.getRun(data.runId);
  if (existing && isFinal(existing.phase)) {
    log.info({ phase: existing.phase }, `${existing.kind} already finished; not running it again`);
    return { done: { id: data.runId, status: existing.phase } };
  }
  const cluster = deps.config.clusters[data.cluster];
  if (!cluster) throw new PachbackupError('config-invalid', `cluster ${data.cluster} is not in this worker's config`);
  return { cluster, existing };
}

/**
 * Ends a job the worker will not run (see job-authority): audited as refused with the reason, told where the
 * state database says the run or request is shown in Slack, and returned as the job's result — nothing else is
 * touched, and the job is not retried.
 */
export async function refuseJob(
  deps: { audit: AuditLog; onRefused?: (refusal: JobRefusal) => Promise<void> },
  refusal: JobRefusal,
  log: Logger,
): Promise<{ id: string; status: 'refused'; reason: string }> {
  log.warn({ runId: refusal.runId, jobId: refusal.jobId, reason: refusal.reason }, `refused to run a ${refusal.kind} job`);
  await deps.audit.record({
    actor: 'pachbackup',
    action: refusal.kind,
    ...(refusal.cluster ? { cluster: refusal.cluster } : {}),
    runId: refusal.runId,
    outcome: 'refused',
    detail: { reason: refusal.reason, job: refusal.jobId, ...(refusal.requestId ? { requestId: refusal.requestId } : {}) },
  });
  await deps.onRefused?.(refusal).catch((err: unknown) => log.warn({ err }, 'could not say in Slack why the job was refused'));
  return { id: refusal.runId, status: 'refused', reason: refusal.reason };
}

/** A run record as observers see it. */
export function subjectOf(run: RunRecord): RunSubject {
  const slack = run.slack as SlackRunTarget | null;
  return { id: run.id, cluster: run.cluster, requestedBy: run.requestedBy, ...(run.note ? { note: run.note } : {}), ...(slack ? { slack } : {}) };
}
