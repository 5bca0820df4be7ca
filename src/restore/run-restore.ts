import { setMaxListeners } from 'node:events';
import { secondsBetween } from '../backup/steps/write-manifest.js';
import { describeError, PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunEvents } from '../runner/run-event.js';
import type { DowntimeEstimate } from '../estimate/downtime-estimate.js';
import type { RunPhase } from '../runner/run-phase.js';
import { expectedStepSeconds, runInterruptions } from '../runner/interruption.js';
import { runSteps } from '../runner/run-steps.js';
import { holdRunLease, interruptWhenHoldIsLost, refuseIfClusterBusy, type RunLease } from '../state/run-lease.js';
import type { RestoreDeps } from './restore-deps.js';
import type { RestoreOutputs } from './restore-outputs.js';
import type { RestorePlan } from './restore-plan.js';
import { createRestoreRecoverySteps, createRestoreSteps } from './restore-steps.js';

/** What a finished restore tells the CLI (`--json`), the Slack summary and the run record. */
export interface RestoreResult {
  id: string;
  backupId: string;
  /** The target cluster. */
  cluster: string;
  status: RunPhase;
  error?: string;
  warnings: string[];
  /** The approved plan's fingerprint this run executed. */
  fingerprint: string;
  inPlace: boolean;
  /** From the pause to the resume; null when the target was not paused. */
  downtimeSeconds: number | null;
  databases: { source: string; target: string; tables: number; rows: number; bytes: number; replaced: boolean; mismatches: string[] }[];
  objects: { mode: 'copy' | 'backup-pool'; bucket: string; prefix: string; total: number; copied: number; copiedBytes: number; skipped: number };
  /** Where the rendered values are and the command that installs Pachyderm on the restored state. */
  helm?: { valuesKey: string; valuesUrl: string; command: string };
  /** Why the run was handed back to the queue (status `queued`): another worker carries it on. */
  handedBack?: string;
}

/** What a run record of a restore keeps under `result` while it runs (recovery reads the plan from it). */
export interface RestoreRunRecord {
  plan: RestorePlan;
  approvedBy?: string;
}

export function restoreDowntimeOf(o: Partial<RestoreOutputs>): number | undefined {
  return o.pause && o.resume ? secondsBetween(o.pause.pausedAt, o.resume.resumedAt) : undefined;
}

export function summarizeRestore(
  deps: Pick<RestoreDeps, 'restoreId' | 'target' | 'backup'>,
  plan: RestorePlan,
  outcome: { phase: RunPhase; error?: string; handedBack?: string; warnings: string[]; outputs: Partial<RestoreOutputs> },
): RestoreResult {
  const o = outcome.outputs;
  const copies = [o.objectCopy, o.objectDelta].filter((c) => c !== undefined);
  const swapped = new Map((o.swap?.databases ?? []).map((d) => [d.target, d.replaced]));
  return {
    id: deps.restoreId,
    backupId: plan.backup.id,
    cluster: deps.target.name,
    status: outcome.phase,
    ...(outcome.error ? { error: outcome.error } : {}),
    warnings: outcome.warnings,
    fingerprint: plan.fingerprint,
    inPlace: plan.inPlace,
    downtimeSeconds: restoreDowntimeOf(o) ?? null,
    databases: (o.restoredDatabases ?? []).map((d) => ({
      source: d.source,
      target: d.target,
      tables: d.tables,
      rows: d.rows,
      bytes: d.bytes,
      replaced: swapped.get(d.target) ?? false,
      mismatches: d.mismatches,
    })),
    objects: {
      mode: plan.objects.mode,
      bucket: plan.objects.bucket,
      prefix: plan.objects.prefix,
      total: plan.objects.count,
      copied: copies.reduce((n, c) => n + c.copied, 0),
      copiedBytes: copies.reduce((n, c) => n + c.copiedBytes, 0),
      // Already there: skipped by the first pass and not found missing by the paused one.
      skipped: o.objectCopy ? o.objectCopy.skipped - (o.objectDelta?.copied ?? 0) : 0,
    },
    ...(o.helmValues ? { helm: { valuesKey: o.helmValues.key, valuesUrl: `s3://${deps.backup.store.bucket}/${o.helmValues.key}`, command: o.helmValues.command } } : {}),
    ...(outcome.handedBack ? { handedBack: outcome.handedBack } : {}),
  };
}

/**
 * Runs one approved restore from start to end — or, for a run that already exists (a retried job), from its
 * checkpoints — under the target cluster's lock, released however it ends. The first step plans the request
 * again and refuses unless the fingerprint equals `plan.fingerprint` (an approval is bound to exactly that
 * plan). With `mode: 'abort'` it only undoes what an interrupted attempt did (drops staging databases, resumes
 * the target) and ends the run as failed.
 */
export async function runRestore(options: {
  deps: RestoreDeps;
  /** The plan that was shown and approved (from `planRestore`). */
  plan: RestorePlan;
  events: RunEvents;
  log: Logger;
  signal?: AbortSignal;
  mode?: 'run' | 'abort';
  abortReason?: string;
  /** The downtime announced for it, kept with the run so that `history` compares it with the real one. */
  estimate?: DowntimeEstimate;
  /** The process is stopping: the run is handed back, finished or undone before its deadline (see `runSteps`). */
  shutdown?: { signal: AbortSignal; deadline(): number };
}): Promise<RestoreResult> {
  const { deps, plan, log } = options;
  const existing = await deps.runs.getRun(deps.restoreId);
  if (!deps.session.lock) {
    try {
      deps.session.lock = await deps.locks.acquire(deps.target.name, { runId: deps.restoreId, kind: 'restore', requestedBy: deps.requestedBy });
    } catch (err) {
      if (!(err instanceof PachbackupError) || err.code !== 'conflict') throw err;
      return refuse(options, existing !== undefined, err);
    }
  }
  const lock = deps.session.lock;
  let lease: RunLease;
  try {
    await refuseIfClusterBusy(deps.runs, deps.target.name, deps.restoreId);
    if (!existing) {
      await deps.runs.createRun({ id: deps.restoreId, kind: 'restore', cluster: deps.target.name, requestedBy: deps.requestedBy, note: deps.note ?? `restore of ${plan.backup.id}`, ...(options.estimate ? { estimate: options.estimate } : {}) });
      const record: RestoreRunRecord = { plan, ...(deps.approvedBy ? { approvedBy: deps.approvedBy } : {}) };
      await deps.runs.setRunFields(deps.restoreId, { result: record });
    }
    lease = await holdRunLease(deps.runs, deps.restoreId, deps.locks.ttlMs);
  } catch (err) {
    await lock.release().catch(() => undefined);
    if (!(err instanceof PachbackupError) || err.code !== 'conflict' || options.mode === 'abort') throw err;
    return refuse(options, existing !== undefined, err);
  }
  const cancel = new AbortController();
  setMaxListeners(0, cancel.signal);
  const onAbort = () => cancel.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const interruptions = runInterruptions(options.shutdown);
  interruptWhenHoldIsLost({ lock, lease }, interruptions, log.child({ runId: deps.restoreId }));
  try {
    const outcome = await runSteps<RestoreOutputs>({
      runId: deps.restoreId,
      steps: options.mode === 'abort' ? createRestoreRecoverySteps(deps) : createRestoreSteps(deps, plan),
      store: deps.runs,
      events: options.events,
      log: log.child({ runId: deps.restoreId, cluster: deps.target.name }),
      signal: cancel.signal,
      initialOutputs: { startedAt: (existing?.createdAt ?? new Date()).toISOString() },
      downtime: restoreDowntimeOf,
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.abortReason ? { abortReason: options.abortReason } : {}),
      interruptions,
      expectedSeconds: expectedStepSeconds(existing?.estimate ?? options.estimate),
      // Past the swap nothing undoes the restore: whatever stopped it, the reason says what the cluster runs on now.
      explainEnd: (error, outputs) =>
        outputs.swap ? `${error}; the restored databases were already in place: cluster ${deps.target.name} now runs on the databases of backup ${plan.backup.id}` : error,
    });
    const result = summarizeRestore(deps, outcome.outputs.plan ?? plan, outcome);
    await deps.runs.setRunFields(deps.restoreId, { result });
    return result;
  } finally {
    interruptions.dispose();
    options.signal?.removeEventListener('abort', onAbort);
    await lease.release().catch((err: unknown) => log.warn({ err }, 'could not release the run lease; it expires by itself'));
    await lock.release().catch((err: unknown) => log.warn({ err }, 'could not release the cluster lock; it expires by itself'));
  }
}

/** A restore refused before it started (the target is busy): recorded as failed-validation, nothing touched. */
async function refuse(options: { deps: RestoreDeps; plan: RestorePlan; events: RunEvents }, runExists: boolean, err: PachbackupError): Promise<RestoreResult> {
  const { deps, plan, events } = options;
  const error = describeError(err);
  if (!runExists) {
    await deps.runs.createRun({ id: deps.restoreId, kind: 'restore', cluster: deps.target.name, requestedBy: deps.requestedBy, phase: 'failed-validation', note: deps.note ?? `restore of ${plan.backup.id}` });
  }
  // A queued run refused (the cluster busy) ends here too: it does not wait in the state database forever.
  await deps.runs.finishRun(deps.restoreId, { phase: 'failed-validation', error, warnings: [] });
  events.emit({ type: 'run-finished', runId: deps.restoreId, at: new Date().toISOString(), phase: 'failed-validation', error, warnings: [] });
  return summarizeRestore(deps, plan, { phase: 'failed-validation', error, warnings: [], outputs: {} });
}
