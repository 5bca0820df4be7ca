import { setMaxListeners } from 'node:events';
import { describeError, isPachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunEvents } from '../runner/run-event.js';
import type { RunPhase } from '../runner/run-phase.js';
import { runSteps } from '../runner/run-steps.js';
import { readBackupManifest } from '../restore/read-backup.js';
import type { ClusterLock, LockHolder } from '../state/cluster-lock.js';
import { collectChecks, createDrillSteps, drillLockName, drillScratch, removeScratch, scratchLeft, type DrillCheck, type DrillDeps, type DrillOutputs } from './drill-steps.js';

/** What a drill tells the CLI (`--json`), Slack and the run record. `ok` is false when any check failed. */
export interface DrillResult {
  id: string;
  cluster: string;
  backupId: string | null;
  ok: boolean;
  status: RunPhase;
  error?: string;
  checks: DrillCheck[];
  durationMs: number;
  /** Where the scratch was (all of it removed when the `scratch removed` check passed). */
  scratch?: { databases: string[]; prefix: string };
}

/**
 * Runs a restore drill (see `createDrillSteps`) as a run of kind 'drill' with the step runner and its events,
 * under the cluster's drill lock (`drillLockName`: one drill per cluster at a time — one already running ends this
 * one as failed-validation, saying which; no operation lock: nothing of the cluster is touched, and a drill must
 * not hold back a backup). Whatever happens — a failed step, a cancel, a crash of the runner itself — the scratch
 * databases this drill created and its objects are removed before this returns, and a last check says whether
 * anything was left.
 */
export async function runDrill(options: { deps: DrillDeps; events: RunEvents; log: Logger; signal?: AbortSignal }): Promise<DrillResult> {
  const { deps, log } = options;
  const started = performance.now();
  // A drill asked for in Slack has its run already (queued); one picked up again after its worker died resumes its
  // run from the checkpoints, taking over its own lock.
  const existing = await deps.runs.getRun(deps.drillId);
  if (!existing) await deps.runs.createRun({ id: deps.drillId, kind: 'drill', cluster: deps.cluster.name, requestedBy: deps.requestedBy, ...(deps.backupId ? { note: `drill of ${deps.backupId}`, backupId: deps.backupId } : {}) });
  const lockName = drillLockName(deps.cluster.name);
  const who = { runId: deps.drillId, kind: 'drill', requestedBy: deps.requestedBy };
  let lock: ClusterLock;
  try {
    lock = existing && existing.phase !== 'queued' ? await deps.locks.takeOver(lockName, who, options.signal) : await deps.locks.acquire(lockName, who);
  } catch (err) {
    if (!isPachbackupError(err) || err.code !== 'conflict') throw err;
    return refuseBusy(options, started, await deps.locks.holder(lockName));
  }
  lock.keepAlive(() => log.warn({ runId: deps.drillId }, 'lost the drill lock; another drill of this cluster may start'));
  try {
    return await drillUnderLock(options, started, existing?.createdAt);
  } finally {
    await lock.release().catch((err: unknown) => log.warn({ err }, 'could not release the drill lock; it expires by itself'));
  }
}

/** A drill refused because another drill of the cluster runs: its run ends failed-validation, naming that drill. */
async function refuseBusy(options: { deps: DrillDeps; events: RunEvents }, started: number, holder: LockHolder | undefined): Promise<DrillResult> {
  const { deps } = options;
  const error = holder
    ? `a drill of ${deps.cluster.name} is already running: drill ${holder.runId} requested by ${holder.requestedBy} since ${holder.since} — one drill per cluster at a time; run this one again when it has finished`
    : `a drill of ${deps.cluster.name} is already running — one drill per cluster at a time; run this one again when it has finished`;
  await deps.runs.finishRun(deps.drillId, { phase: 'failed-validation', error, warnings: [] });
  options.events.emit({ type: 'run-finished', runId: deps.drillId, at: new Date().toISOString(), phase: 'failed-validation', error, warnings: [] });
  const result: DrillResult = {
    id: deps.drillId,
    cluster: deps.cluster.name,
    backupId: deps.backupId ?? null,
    ok: false,
    status: 'failed-validation',
    error,
    checks: [{ name: 'drill', ok: false, detail: error }],
    durationMs: Math.round(performance.now() - started),
  };
  await deps.runs.setRunFields(deps.drillId, { result });
  return result;
}

async function drillUnderLock(options: { deps: DrillDeps; events: RunEvents; log: Logger; signal?: AbortSignal }, started: number, createdAt: Date | undefined): Promise<DrillResult> {
  const { deps, log } = options;
  const cancel = new AbortController();
  setMaxListeners(0, cancel.signal);
  const onAbort = () => cancel.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let outcome: { phase: RunPhase; error?: string; outputs: Partial<DrillOutputs> } = { phase: 'failed', outputs: {} };
  try {
    outcome = await runSteps<DrillOutputs>({
      runId: deps.drillId,
      steps: createDrillSteps(deps),
      store: deps.runs,
      events: options.events,
      log: log.child({ runId: deps.drillId, cluster: deps.cluster.name }),
      signal: cancel.signal,
      initialOutputs: { startedAt: (createdAt ?? new Date()).toISOString() },
    });
  } catch (err) {
    outcome = { phase: 'failed', error: describeError(err), outputs: outcome.outputs };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }

  const checks = collectChecks(outcome.outputs);
  const backupId = outcome.outputs.selected?.backupId ?? deps.backupId ?? null;
  // Only the verdict step runs after the cleanup: a failed run with a cleanup output failed on its checks.
  const verdictFailed = outcome.phase === 'failed' && outcome.outputs.cleanup !== undefined && checks.some((c) => !c.ok);
  if (outcome.phase !== 'succeeded' && !verdictFailed) checks.push({ name: 'drill', ok: false, detail: outcome.error ?? outcome.phase });

  // The scratch is removed whatever happened; its names follow from the drill id and the backup alone.
  let scratch: DrillResult['scratch'];
  if (backupId) {
    try {
      const { manifest } = await readBackupManifest(deps.backup, backupId);
      const where = drillScratch(deps, manifest);
      scratch = { databases: where.databases.map((d) => d.scratch), prefix: where.prefix };
      if (!outcome.outputs.cleanup?.check.ok) {
        await removeScratch(deps, where);
        const left = await scratchLeft(deps, where);
        checks.push({ name: 'scratch removed', ok: left.length === 0, detail: left.length === 0 ? 'removed after the drill ended' : `still there: ${left.join('; ')}` });
      }
    } catch (err) {
      checks.push({ name: 'scratch removed', ok: false, detail: `could not check or remove the scratch: ${describeError(err)}` });
    }
  }
  const ok = outcome.phase === 'succeeded' && checks.every((c) => c.ok);
  const result: DrillResult = {
    id: deps.drillId,
    cluster: deps.cluster.name,
    backupId,
    ok,
    status: outcome.phase,
    ...(outcome.error ? { error: outcome.error } : {}),
    checks,
    durationMs: Math.round(performance.now() - started),
    ...(scratch ? { scratch } : {}),
  };
  await deps.runs.setRunFields(deps.drillId, { result }).catch((err: unknown) => log.warn({ err }, 'could not record the drill result'));
  return result;
}
