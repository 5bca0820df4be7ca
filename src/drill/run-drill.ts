import { setMaxListeners } from 'node:events';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunEvents } from '../runner/run-event.js';
import type { RunPhase } from '../runner/run-phase.js';
import { runSteps } from '../runner/run-steps.js';
import { readBackupManifest } from '../restore/read-backup.js';
import { collectChecks, createDrillSteps, drillScratch, removeScratch, scratchLeft, type DrillCheck, type DrillDeps, type DrillOutputs } from './drill-steps.js';

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
 * Runs a restore drill (see `createDrillSteps`) as a run of kind 'drill' with the step runner and its events —
 * no cluster lock (nothing of the cluster is touched, and a drill must not hold back a backup). Whatever happens
 * — a failed step, a cancel, a crash of the runner itself — the scratch databases and objects are removed before
 * this returns, and a last check says whether anything was left.
 */
export async function runDrill(options: { deps: DrillDeps; events: RunEvents; log: Logger; signal?: AbortSignal }): Promise<DrillResult> {
  const { deps, log } = options;
  const started = performance.now();
  // A drill picked up again after its worker died already has its run: it resumes from the checkpoints.
  const existing = await deps.runs.getRun(deps.drillId);
  if (!existing) await deps.runs.createRun({ id: deps.drillId, kind: 'drill', cluster: deps.cluster.name, requestedBy: deps.requestedBy, ...(deps.backupId ? { note: `drill of ${deps.backupId}` } : {}) });
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
      initialOutputs: { startedAt: (existing?.createdAt ?? new Date()).toISOString() },
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
