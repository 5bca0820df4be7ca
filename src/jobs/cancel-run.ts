import type { ClusterConfig, Config } from '../config/config.js';
import { isFinal } from '../runner/run-phase.js';
import type { AuditLog } from '../state/audit-log.js';
import type { RunRecord, RunStore } from '../state/run-store.js';
import type { OperationsQueue } from './operations-queue.js';

/** How a cancel went. `text` is what the person who asked is told when it worked; `problem` when it did not. */
export type CancelOutcome =
  | { outcome: 'unknown-run'; problem: string }
  | { outcome: 'refused'; run: RunRecord; problem: string }
  | { outcome: 'already-ended'; run: RunRecord; problem: string }
  /** Taken off the queue before any worker started it: nothing was touched. */
  | { outcome: 'cancelled-before-start'; run: RunRecord; cluster: ClusterConfig; error: string; text: string }
  /** Running: its worker was asked to stop; `heardBy` is how many workers heard the request (0: none is running it). */
  | { outcome: 'requested'; run: RunRecord; heardBy: number; text: string };

/**
 * Cancels a run — the one cancel behind Slack's `cancel` (command and button) and the CLI's. A run no worker has
 * started is removed from the queue and marked cancelled; a running one is asked to stop — before the pause it just
 * stops, after it the runner undoes what it did and resumes the cluster. `mayCancel` says whether the actor
 * operates the run's cluster (Slack: the cluster's operators; the CLI: whoever holds its config); every outcome
 * but an unknown id is audited under `actor`. `by` is how the actor is named in the run's record.
 */
export async function cancelRun(
  request: { actor: string; by: string; runId: string; mayCancel: (cluster: ClusterConfig) => Promise<boolean> },
  deps: {
    config: Pick<Config, 'clusters'>;
    runs: Pick<RunStore, 'getRun' | 'finishRun'>;
    audit: Pick<AuditLog, 'record'>;
    queue: Pick<OperationsQueue, 'removeIfWaiting'>;
    /** Publishes the cancel request to the workers; resolves with how many heard it. */
    requestCancel(runId: string): Promise<number>;
  },
): Promise<CancelOutcome> {
  const run = /^[a-z0-9-]{1,100}$/.test(request.runId) ? await deps.runs.getRun(request.runId) : undefined;
  if (!run) return { outcome: 'unknown-run', problem: `no run \`${request.runId.slice(0, 80)}\`` };
  const cluster = deps.config.clusters[run.cluster];
  if (!cluster || !(await request.mayCancel(cluster))) {
    await deps.audit.record({ actor: request.actor, action: 'cancel', cluster: run.cluster, runId: run.id, outcome: 'refused', detail: { reason: 'not an operator' } });
    return { outcome: 'refused', run, problem: `you are not an operator of ${run.cluster}: only its operators may cancel its runs` };
  }
  if (isFinal(run.phase)) return { outcome: 'already-ended', run, problem: `${run.id} already ended (${run.phase})` };
  if (await deps.queue.removeIfWaiting(run.id)) {
    const error = `cancelled by ${request.by} before it started`;
    await deps.runs.finishRun(run.id, { phase: 'cancelled', error, warnings: [] });
    await deps.audit.record({ actor: request.actor, action: 'cancel', cluster: run.cluster, runId: run.id, outcome: 'cancelled', detail: { when: 'queued' } });
    return { outcome: 'cancelled-before-start', run, cluster, error, text: `Cancelled ${run.id} before it started; nothing was touched.` };
  }
  const heardBy = await deps.requestCancel(run.id);
  await deps.audit.record({ actor: request.actor, action: 'cancel', cluster: run.cluster, runId: run.id, outcome: 'requested', detail: { phase: run.phase, heardBy } });
  return { outcome: 'requested', run, heardBy, text: `Cancelling ${run.id}: if ${run.cluster} is paused it is resumed first; the thread shows when it is done.` };
}
