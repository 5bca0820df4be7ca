import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunStore, StepRecord } from '../state/run-store.js';
import type { Interruptions } from './interruption.js';
import { createRetryDigest, withRetryNotices } from './retry-notices.js';
import type { RunEvents, StepSizes, UndoCause } from './run-event.js';
import type { RunPhase } from './run-phase.js';
import type { Step, StepContext, StepResult } from './step.js';

export interface RunStepsOptions<O> {
  runId: string;
  steps: Step<O>[];
  store: RunStore;
  events: RunEvents;
  log: Logger;
  /** Aborting it cancels the run: the current step stops, and the compensations run. */
  signal?: AbortSignal;
  /**
   * `run` (default) runs every step not yet done, resuming after a crash from the checkpoints; `abort` only runs
   * the compensations of what an interrupted attempt did (used when a crashed run is picked up and must not go on).
   */
  mode?: 'run' | 'abort';
  /** Why the run is aborted, for `mode: 'abort'`. */
  abortReason?: string;
  initialOutputs?: Partial<O>;
  /** The run's downtime from its outputs, reported when it ends. */
  downtime?: (outputs: Partial<O>) => number | undefined;
  /** Attempts for each compensation before giving up on it (and saying so loudly). */
  undoAttempts?: number;
  /**
   * Stops that are not a cancel: the process shutting down, a lost lease. Where the run is decides how it stops:
   * - before the cluster is paused (the first downtime step), and after it is back: the current step stops, the
   *   compensations of what is in effect run, and the run is handed back (phase `queued`, outcome `handedBack`)
   *   for another process to carry on from its checkpoints — an interruption without a deadline lets a run
   *   that is past its pause finish instead;
   * - while it is paused: the run finishes if the downtime steps left, as `expectedSeconds` predicts them, end
   *   before the deadline with the undo's time to spare (and is undone as soon as that stops being true);
   *   otherwise — or without a deadline or an estimate — the current step stops, the cluster is resumed by the
   *   compensations, and the run ends `cancelled` (or the interruption's `phase`) with the reason.
   */
  interruptions?: Interruptions;
  /** What the run's estimate says a step takes, in seconds (the high end of the range), for the decision above. */
  expectedSeconds?: (step: string) => number | undefined;
  /**
   * The reason a run that did not succeed ends with, given what it did (its outputs): a restore past its swap says
   * the live databases are the backup's now, whatever stopped it.
   */
  explainEnd?: (error: string, outputs: Partial<O>) => string;
}

/** Time kept back before an interruption's deadline for what follows a stop (reporting, closing). */
const STOP_MARGIN_MS = 3000;
/** What resuming a paused cluster takes when the estimate has no figure for it. */
const DEFAULT_UNDO_MS = 10_000;

export interface RunOutcome<O> {
  /** `queued` when the run was handed back (see `handedBack`). */
  phase: RunPhase;
  error?: string;
  /** Why the run was handed back for another process to carry on (an interruption outside the pause). */
  handedBack?: string;
  warnings: string[];
  outputs: Partial<O>;
  downtimeSeconds?: number;
}

const now = () => new Date().toISOString();

/**
 * Runs an operation's steps in order — the saga: each step's undo is pushed as it succeeds and the undos run in
 * reverse when a later step fails, the run is cancelled, or a crashed attempt is aborted. Every transition is
 * checkpointed in the state database before the next one starts, so a retried run skips what is done and its
 * undos see what the dead process did.
 */
export async function runSteps<O>(options: RunStepsOptions<O>): Promise<RunOutcome<O>> {
  const { runId, steps, store, events, log } = options;
  const signal = options.signal ?? new AbortController().signal;
  const names = new Set<string>();
  for (const step of steps) {
    if (names.has(step.name)) throw new PachbackupError('internal', `step ${step.name} appears twice`);
    names.add(step.name);
  }
  await store.declareSteps(
    runId,
    steps.map((s, position) => ({ name: s.name, position, downtime: s.downtime ?? false })),
  );
  const records = new Map<string, StepRecord>((await store.getSteps(runId)).map((r) => [r.name, r]));
  const outputs: Partial<O> = { ...(options.initialOutputs ?? {}) };
  const warnings: string[] = [];
  const checkpoints = new Map<string, unknown>();
  /** Steps whose changes are in effect, most recent last. */
  const undoStack: Step<O>[] = [];

  // Rebuild what earlier attempts did: their outputs, and which of their changes are still in effect.
  for (const step of steps) {
    const record = records.get(step.name);
    if (!record) continue;
    if (record.checkpoint !== null && record.checkpoint !== undefined) checkpoints.set(step.name, record.checkpoint);
    if (record.state === 'done' || record.state === 'skipped') {
      Object.assign(outputs, (record.output as Partial<O> | null) ?? {});
      applyEffect(step, undoStack, steps);
    } else if ((record.state === 'running' || record.state === 'failed') && step.undo) {
      undoStack.push(step); // it may have changed things before it stopped; its undo is idempotent
    }
  }

  const emitPhase = async (phase: RunPhase, error?: string) => {
    await store.setPhase(runId, phase, { started: true, ...(error ? { error } : {}) });
    events.emit({ type: 'run-phase', runId, at: now(), phase, ...(error ? { error } : {}) });
  };

  const contextFor = (step: Step<O>, stepSignal: AbortSignal): StepContext<O> => ({
    runId,
    signal: stepSignal,
    log: log.child({ step: step.name }),
    outputs,
    progress: (progress) => events.emit({ type: 'step-progress', runId, at: now(), step: step.name, progress }),
    saveCheckpoint: async (data) => {
      checkpoints.set(step.name, data);
      await store.saveCheckpoint(runId, step.name, data);
    },
    checkpoint: <T>() => checkpoints.get(step.name) as T | undefined,
    warn: (message) => {
      warnings.push(message);
      log.warn({ step: step.name }, message);
    },
  });

  /** Retries that last are told as the step's progress (see `createRetryDigest`); blips are not. */
  const retryDigestFor = (step: Step<O>) =>
    createRetryDigest((message, retry) => {
      log.warn({ step: step.name, retry }, message);
      events.emit({ type: 'step-progress', runId, at: now(), step: step.name, progress: { message, retry } });
    });

  const finish = async (phase: RunPhase, reason?: string): Promise<RunOutcome<O>> => {
    const error = reason !== undefined && options.explainEnd ? options.explainEnd(reason, outputs) : reason;
    const downtimeSeconds = options.downtime?.(outputs);
    await store.finishRun(runId, { phase, warnings, ...(error ? { error } : {}), ...(downtimeSeconds !== undefined ? { downtimeSeconds } : {}) });
    events.emit({ type: 'run-finished', runId, at: now(), phase, warnings, ...(error ? { error } : {}), ...(downtimeSeconds !== undefined ? { downtimeSeconds } : {}) });
    return { phase, warnings, outputs, ...(error ? { error } : {}), ...(downtimeSeconds !== undefined ? { downtimeSeconds } : {}) };
  };

  const compensate = async (cause: UndoCause): Promise<string | undefined> => {
    let failure: string | undefined;
    // Compensations must not be cut short by the cancellation that triggered them.
    const undoSignal = new AbortController().signal;
    while (undoStack.length > 0) {
      const step = undoStack.pop()!;
      events.emit({ type: 'undo-started', runId, at: now(), step: step.name, title: step.title, cause });
      const attempts = options.undoAttempts ?? 3;
      let lastError: unknown;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          await withRetryNotices(retryDigestFor(step), () => step.undo!(contextFor(step, undoSignal)));
          lastError = undefined;
          break;
        } catch (err) {
          lastError = err;
          log.error({ err, step: step.name, attempt }, 'compensation failed');
          if (attempt < attempts) {
            // Said at once, not after the last attempt: people wait on what this undo brings back (a paused cluster).
            events.emit({ type: 'undo-retrying', runId, at: now(), step: step.name, title: step.title, attempt, attempts, error: describeError(err) });
            await sleep(500 * 2 ** (attempt - 1));
          }
        }
      }
      if (lastError === undefined) {
        await store.setStepState(runId, step.name, 'undone');
        events.emit({ type: 'undo-finished', runId, at: now(), step: step.name, state: 'undone' });
      } else {
        const message = `undo of "${step.title}" failed: ${describeError(lastError)}`;
        failure ??= message;
        await store.setStepState(runId, step.name, 'undo-failed', message);
        events.emit({ type: 'undo-finished', runId, at: now(), step: step.name, state: 'undo-failed', error: message });
      }
    }
    return failure;
  };

  const doneBefore = steps.flatMap((step) => {
    const record = records.get(step.name);
    if (record?.state !== 'done' && record?.state !== 'skipped') return [];
    return [{ step: step.name, ...(record.finishedAt ? { finishedAt: new Date(record.finishedAt).toISOString() } : {}) }];
  });
  if (doneBefore.length > 0) events.emit({ type: 'run-picked-up', runId, at: now(), done: doneBefore });

  if (options.mode === 'abort') {
    await emitPhase('running');
    const undoFailure = await compensate('abort');
    const reason = options.abortReason ?? 'the run was interrupted';
    return finish('failed', undoFailure ? `${reason}; ${undoFailure}` : reason);
  }

  // Interruptions (shutdown, lost lease): `decide` says when to stop the current step; steps see `stepSignal`.
  let pauseStarted = steps.some((s) => s.downtime && records.get(s.name) !== undefined && records.get(s.name)!.state !== 'pending');
  let current: Step<O> | undefined;
  let currentStarted = 0;
  let committedToFinish = false;
  const stop = new AbortController();
  const stepSignal = AbortSignal.any([signal, stop.signal]);
  setMaxListeners(0, stepSignal); // one signal fans out to every request of a step (many copies in flight)
  // The pause is in force while a downtime step runs, or while the effect of the step a later downtime step
  // compensates (the pause that the resume undoes) is — not merely while some downtime step's undo is pending (the
  // snapshots exported while paused are held until the dumps after the resume).
  const pauseSteps = new Set(steps.filter((s) => s.downtime && steps.some((t) => t.downtime && t.compensates === s.name)).map((s) => s.name));
  const paused = () => Boolean(current?.downtime) || undoStack.some((s) => pauseSteps.has(s.name));
  /** Seconds the paused part still needs (downtime steps not done, the current one less what it ran), or undefined. */
  const pausedWorkLeft = (): number | undefined => {
    let total = 0;
    for (const step of steps) {
      if (!step.downtime) continue;
      const state = records.get(step.name)?.state;
      if ((state === 'done' || state === 'skipped') && step !== current) continue;
      const expected = options.expectedSeconds?.(step.name);
      if (expected === undefined) return undefined;
      total += step === current ? Math.max(0, expected - (performance.now() - currentStarted) / 1000) : expected;
    }
    return total;
  };
  const decide = (): void => {
    const interruption = options.interruptions?.current();
    if (!interruption || stop.signal.aborted || signal.aborted) return;
    const left = interruption.deadline === undefined ? undefined : interruption.deadline - Date.now() - STOP_MARGIN_MS;
    if (paused()) {
      // Undoing the pause costs what resuming does: the step that compensates it.
      const resume = steps.find((s) => s.compensates !== undefined && steps.some((t) => t.name === s.compensates && t.downtime));
      const undoMs = (options.expectedSeconds?.(resume?.name ?? '') ?? DEFAULT_UNDO_MS / 1000) * 1000;
      const work = pausedWorkLeft();
      if (!committedToFinish && left !== undefined && work !== undefined && work * 1000 <= left) {
        committedToFinish = true;
        log.warn({ reason: interruption.reason, pausedWorkLeftSeconds: Math.round(work), leftSeconds: Math.round(left / 1000) }, 'interrupted while paused: the rest of the pause fits before the deadline; finishing it');
      }
      if (committedToFinish && left !== undefined && undoMs < left) return;
      stop.abort(interruption.reason);
    } else if (!pauseStarted || (left !== undefined && left <= 0)) {
      stop.abort(interruption.reason);
    }
  };
  const onInterrupted = () => {
    decide();
    if (!stop.signal.aborted && !watch) watch = setInterval(decide, 500);
  };
  let watch: NodeJS.Timeout | undefined;
  options.interruptions?.signal.addEventListener('abort', onInterrupted, { once: true });
  if (options.interruptions?.signal.aborted) onInterrupted();

  /** Stops for the interruption: undoes what is in effect, then ends the run (while paused) or hands it back. */
  const stopForInterruption = async (interrupted?: Step<O>): Promise<RunOutcome<O>> => {
    const interruption = options.interruptions!.current()!;
    const wasPaused = paused();
    if (interrupted?.undo) undoStack.push(interrupted);
    else if (interrupted) await store.setStepState(runId, interrupted.name, 'pending');
    const undoFailure = await compensate((interruption.phase ?? 'cancelled') === 'cancelled' ? 'cancel' : 'failure');
    if (wasPaused || undoFailure) {
      const error = `${interruption.reason}: stopped during "${interrupted?.title ?? 'the run'}"${wasPaused ? ' and resumed the cluster' : ''}`;
      return finish(interruption.phase ?? 'cancelled', undoFailure ? `${error}; ${undoFailure}` : error);
    }
    await store.setPhase(runId, 'queued');
    events.emit({ type: 'run-handed-back', runId, at: now(), reason: interruption.reason });
    log.warn({ reason: interruption.reason }, 'handed the run back: another process carries on from its checkpoints');
    return { phase: 'queued', handedBack: interruption.reason, warnings, outputs };
  };

  try {
    let optionalFailures = 0;
    for (const [position, step] of steps.entries()) {
      const record = records.get(step.name);
      if (record && (record.state === 'done' || record.state === 'skipped')) continue;
      if (signal.aborted) {
        const undoFailure = await compensate('cancel');
        return finish('cancelled', undoFailure ?? 'cancelled before it finished');
      }
      current = step;
      currentStarted = performance.now();
      decide();
      if (stop.signal.aborted) {
        current = undefined;
        return await stopForInterruption();
      }
      if (step.downtime) pauseStarted = true;
      await emitPhase(step.validation ? 'validating' : 'running');
      await store.stepStarted(runId, step.name);
      events.emit({ type: 'step-started', runId, at: now(), step: step.name, title: step.title, position, total: steps.length, downtime: step.downtime ?? false });
      const started = performance.now();
      const ctx = contextFor(step, stepSignal);
      try {
        const notices = retryDigestFor(step);
        const already = step.isDone ? await withRetryNotices(notices, () => step.isDone!(ctx), stepSignal) : undefined;
        const result: StepResult<O> = already ?? (await withRetryNotices(notices, () => step.run(ctx), stepSignal));
        const durationMs = performance.now() - started;
        Object.assign(outputs, result.output ?? {});
        const sizes: StepSizes = result.sizes ?? {};
        const state = already ? 'skipped' : 'done';
        await store.stepFinished(runId, step.name, { state, durationMs, sizes, output: result.output ?? {} });
        records.set(step.name, { ...(record ?? ({} as StepRecord)), state });
        events.emit({ type: 'step-finished', runId, at: now(), step: step.name, state, durationMs, sizes, ...(result.summary ? { summary: result.summary } : {}) });
        applyEffect(step, undoStack, steps);
        current = undefined;
      } catch (err) {
        const durationMs = performance.now() - started;
        const message = describeError(err);
        if (stop.signal.aborted && !signal.aborted) {
          // Stopped for an interruption, not failed: the step is told as interrupted, then stopped or handed back.
          events.emit({ type: 'step-failed', runId, at: now(), step: step.name, durationMs, error: `interrupted: ${stop.signal.reason as string}`, critical: false });
          await store.stepFinished(runId, step.name, { state: 'failed', durationMs, error: `interrupted: ${stop.signal.reason as string}` });
          return await stopForInterruption(step);
        }
        await store.stepFinished(runId, step.name, { state: 'failed', durationMs, error: message });
        events.emit({ type: 'step-failed', runId, at: now(), step: step.name, durationMs, error: message, critical: !step.optional });
        current = undefined;
        if (step.optional && !signal.aborted) {
          optionalFailures += 1;
          warnings.push(`${step.title} failed: ${message}`);
          continue;
        }
        log.error({ err, step: step.name }, 'step failed');
        if (step.undo) undoStack.push(step);
        const undoFailure = await compensate(signal.aborted ? 'cancel' : 'failure');
        const phase: RunPhase = signal.aborted ? 'cancelled' : step.validation ? 'failed-validation' : 'failed';
        const error = signal.aborted ? `cancelled during "${step.title}"` : `${step.title}: ${message}`;
        return await finish(phase, undoFailure ? `${error}; ${undoFailure}` : error);
      }
    }
    return await finish(optionalFailures > 0 ? 'partially-failed' : 'succeeded');
  } finally {
    clearInterval(watch);
    options.interruptions?.signal.removeEventListener('abort', onInterrupted);
  }
}

/** A finished step's effect on what is in force: its own undo joins the stack; a compensating step removes its target's. */
function applyEffect<O>(step: Step<O>, undoStack: Step<O>[], steps: Step<O>[]): void {
  if (step.compensates) {
    const target = steps.find((s) => s.name === step.compensates);
    const index = target ? undoStack.indexOf(target) : -1;
    if (index >= 0) undoStack.splice(index, 1);
  }
  if (step.undo) undoStack.push(step);
}
