import { setMaxListeners } from 'node:events';
import { rmSync } from 'node:fs';
import { describeError, PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunEvents } from '../runner/run-event.js';
import type { RunPhase } from '../runner/run-phase.js';
import { expectedStepSeconds, runInterruptions } from '../runner/interruption.js';
import { runSteps } from '../runner/run-steps.js';
import { holdRunLease, interruptWhenHoldIsLost, refuseIfClusterBusy, type RunLease } from '../state/run-lease.js';
import type { BackupDeps } from './backup-deps.js';
import type { BackupOutputs } from './backup-outputs.js';
import { createBackupSteps } from './backup-steps.js';
import { releaseSnapshots } from './steps/dump-databases.js';
import { secondsBetween } from './steps/write-manifest.js';

/** What a finished backup run tells the CLI (`--json`), the Slack summary and metrics. */
export interface BackupResult {
  id: string;
  cluster: string;
  status: RunPhase;
  error?: string;
  warnings: string[];
  downtimeSeconds: number | null;
  objects: { total: number; copied: number; copiedWhilePaused: number };
  bytes: { total: number; copied: number };
  databases: { name: string; bytes: number; sha256: string }[];
  manifest?: string;
  verified?: boolean;
  /** Why the run was handed back to the queue (status `queued`): another worker carries it on. */
  handedBack?: string;
}

export function downtimeOf(o: Partial<BackupOutputs>): number | undefined {
  return o.pause && o.resume ? secondsBetween(o.pause.pausedAt, o.resume.resumedAt) : undefined;
}

export function summarizeBackup(deps: Pick<BackupDeps, 'backupId' | 'cluster'>, outcome: { phase: RunPhase; error?: string; handedBack?: string; warnings: string[]; outputs: Partial<BackupOutputs> }): BackupResult {
  const o = outcome.outputs;
  return {
    id: deps.backupId,
    cluster: deps.cluster.name,
    status: outcome.phase,
    ...(outcome.error ? { error: outcome.error } : {}),
    warnings: outcome.warnings,
    downtimeSeconds: downtimeOf(o) ?? null,
    objects: { total: o.inventory?.objects ?? 0, copied: (o.preCopy?.copied ?? 0) + (o.catchUp?.copied ?? 0) + (o.delta?.copied ?? 0), copiedWhilePaused: o.delta?.copied ?? 0 },
    bytes: { total: o.inventory?.objectBytes ?? 0, copied: (o.preCopy?.copiedBytes ?? 0) + (o.catchUp?.copiedBytes ?? 0) + (o.delta?.copiedBytes ?? 0) },
    databases: (o.dumps ?? []).map((d) => ({ name: d.name, bytes: d.bytes, sha256: d.sha256 })),
    ...(o.manifest ? { manifest: o.manifest.key } : {}),
    ...(o.verification ? { verified: o.verification.ok } : {}),
    ...(outcome.handedBack ? { handedBack: outcome.handedBack } : {}),
  };
}

/**
 * Runs one backup from start to end — or, for a run that already exists (a retried job), from its checkpoints —
 * and releases the cluster lock however it ends. With `mode: 'abort'` it only undoes what an interrupted attempt
 * did (resumes the cluster) and ends the run as failed.
 */
export async function runBackup(options: {
  deps: BackupDeps;
  events: RunEvents;
  log: Logger;
  signal?: AbortSignal;
  mode?: 'run' | 'abort';
  abortReason?: string;
  /** The process is stopping: the run is handed back, finished or undone before its deadline (see `runSteps`). */
  shutdown?: { signal: AbortSignal; deadline(): number };
}): Promise<BackupResult> {
  const { deps, log } = options;
  const existing = await deps.runs.getRun(deps.backupId);
  // The lock comes first: a run in the state database is always either finished or held by a live process,
  // which is how crash recovery tells an orphaned run from a running one.
  if (!deps.session.lock) {
    try {
      deps.session.lock = await deps.locks.acquire(deps.cluster.name, { runId: deps.backupId, kind: 'backup', requestedBy: deps.requestedBy });
    } catch (err) {
      if (!(err instanceof PachbackupError) || err.code !== 'conflict') throw err;
      return refuse(options, existing !== undefined, err);
    }
  }
  const lock = deps.session.lock;
  let lease: RunLease;
  try {
    await refuseIfClusterBusy(deps.runs, deps.cluster.name, deps.backupId);
    if (!existing) {
      await deps.runs.createRun({ id: deps.backupId, kind: 'backup', cluster: deps.cluster.name, requestedBy: deps.requestedBy, ...(deps.note ? { note: deps.note } : {}) });
    }
    lease = await holdRunLease(deps.runs, deps.backupId, deps.locks.ttlMs);
  } catch (err) {
    await lock.release().catch(() => undefined);
    if (!(err instanceof PachbackupError) || err.code !== 'conflict' || options.mode === 'abort') throw err;
    return refuse(options, existing !== undefined, err);
  }
  const cancel = new AbortController();
  // One signal fans out to every request of the run (many copies in flight): not a listener leak.
  setMaxListeners(0, cancel.signal);
  const onAbort = () => cancel.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const interruptions = runInterruptions(options.shutdown);
  interruptWhenHoldIsLost({ lock, lease }, interruptions, log.child({ runId: deps.backupId }));
  try {
    const outcome = await runSteps<BackupOutputs>({
      runId: deps.backupId,
      steps: createBackupSteps(deps),
      store: deps.runs,
      events: options.events,
      log: log.child({ runId: deps.backupId, cluster: deps.cluster.name }),
      signal: cancel.signal,
      initialOutputs: { startedAt: (existing?.createdAt ?? new Date()).toISOString() },
      downtime: downtimeOf,
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.abortReason ? { abortReason: options.abortReason } : {}),
      interruptions,
      expectedSeconds: expectedStepSeconds(existing?.estimate),
    });
    const result = summarizeBackup(deps, outcome);
    await deps.runs.setRunFields(deps.backupId, { result });
    // The run is over: its listings are in the inventory (or no longer needed).
    rmSync(deps.workDir, { recursive: true, force: true });
    return result;
  } finally {
    interruptions.dispose();
    options.signal?.removeEventListener('abort', onAbort);
    await releaseSnapshots(deps);
    await lease.release().catch((err: unknown) => log.warn({ err }, 'could not release the run lease; it expires by itself'));
    await lock.release().catch((err: unknown) => log.warn({ err }, 'could not release the cluster lock; it expires by itself'));
  }
}

/** A backup refused before it started (the cluster is busy): recorded as failed-validation, nothing touched. */
async function refuse(options: { deps: BackupDeps; events: RunEvents }, runExists: boolean, err: PachbackupError): Promise<BackupResult> {
  const { deps, events } = options;
  const error = describeError(err);
  if (!runExists) {
    await deps.runs.createRun({ id: deps.backupId, kind: 'backup', cluster: deps.cluster.name, requestedBy: deps.requestedBy, phase: 'failed-validation', ...(deps.note ? { note: deps.note } : {}) });
  }
  // A queued run refused (the cluster busy) ends here too: it does not wait in the state database forever.
  await deps.runs.finishRun(deps.backupId, { phase: 'failed-validation', error, warnings: [] });
  events.emit({ type: 'run-finished', runId: deps.backupId, at: new Date().toISOString(), phase: 'failed-validation', error, warnings: [] });
  return summarizeBackup(deps, { phase: 'failed-validation', error, warnings: [], outputs: {} });
}
