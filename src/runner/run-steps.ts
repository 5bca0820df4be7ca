import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunStore, StepRecord } from '../state/run-store.js';
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
}

export interface RunOutcome<O> {
  phase: RunPhase;
  error?: string;
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

  const finish = async (phase: RunPhase, error?: string): Promise<RunOutcome<O>> => {
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
          await step.undo!(contextFor(step, undoSignal));
          lastError = undefined;
          break;
        } catch (err) {
          lastError = err;
          log.error({ err, step: step.name, attempt }, 'compensation failed');
          if (attempt < attempts) await sleep(500 * 2 ** (attempt - 1));
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

  if (options.mode === 'abort') {
    await emitPhase('running');
    const undoFailure = await compensate('abort');
    const reason = options.abortReason ?? 'the run was interrupted';
    return finish('failed', undoFailure ? `${reason}; ${undoFailure}` : reason);
  }

  let optionalFailures = 0;
  for (const [position, step] of steps.entries()) {
    const record = records.get(step.name);
    if (record && (record.state === 'done' || record.state === 'skipped')) continue;
    if (signal.aborted) {
      const undoFailure = await compensate('cancel');
      return finish('cancelled', undoFailure ?? 'cancelled before it finished');
    }
    await emitPhase(step.validation ? 'validating' : 'running');
    await store.stepStarted(runId, step.name);
    events.emit({ type: 'step-started', runId, at: now(), step: step.name, title: step.title, position, total: steps.length, downtime: step.downtime ?? false });
    const started = performance.now();
    const ctx = contextFor(step, signal);
    try {
      const already = step.isDone ? await step.isDone(ctx) : undefined;
      const result: StepResult<O> = already ?? (await step.run(ctx));
      const durationMs = performance.now() - started;
      Object.assign(outputs, result.output ?? {});
      const sizes: StepSizes = result.sizes ?? {};
      const state = already ? 'skipped' : 'done';
      await store.stepFinished(runId, step.name, { state, durationMs, sizes, output: result.output ?? {} });
      events.emit({ type: 'step-finished', runId, at: now(), step: step.name, state, durationMs, sizes, ...(result.summary ? { summary: result.summary } : {}) });
      applyEffect(step, undoStack, steps);
    } catch (err) {
      const durationMs = performance.now() - started;
      const message = describeError(err);
      await store.stepFinished(runId, step.name, { state: 'failed', durationMs, error: message });
      events.emit({ type: 'step-failed', runId, at: now(), step: step.name, durationMs, error: message, critical: !step.optional });
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
      return finish(phase, undoFailure ? `${error}; ${undoFailure}` : error);
    }
  }
  return finish(optionalFailures > 0 ? 'partially-failed' : 'succeeded');
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
