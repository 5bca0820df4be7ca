import type { Logger } from '../log.js';
import type { StepProgress, StepSizes } from './run-event.js';

/**
 * What a step sees while it runs: the outputs of the steps before it, an AbortSignal for cancellation, a
 * progress callback, and durable checkpoints — state saved in the state database before the step changes
 * anything, so that its undo works even if the process dies half-way.
 */
export interface StepContext<O> {
  runId: string;
  signal: AbortSignal;
  log: Logger;
  /** Outputs of every earlier step of this run (restored from the state database after a crash). */
  outputs: Partial<O>;
  progress(progress: StepProgress): void;
  /** Saves `data` durably for this step; `checkpoint` returns it on a later attempt. */
  saveCheckpoint(data: unknown): Promise<void>;
  /** What an earlier attempt of this step saved, if anything. */
  checkpoint<T>(): T | undefined;
  /** Records a warning on the run (shown in the summary; makes a successful run partially-failed only if the step says so). */
  warn(message: string): void;
}

export interface StepResult<O> {
  /** Merged into the run's outputs for later steps, and checkpointed. */
  output?: Partial<O>;
  sizes?: StepSizes;
  /** One line for the thread and the CLI, e.g. "copied 120 objects (48 MiB) at 96 MiB/s". */
  summary?: string;
}

/**
 * One unit of an operation (the saga pattern): it does its work, says how big it was, and — where it changes the
 * cluster — knows how to take that change back.
 */
export interface Step<O> {
  /** Stable id, kebab-case: stored in the state database and used for estimates. */
  name: string;
  /** Short title for checklists: "Pause Pachyderm". */
  title: string;
  /** A sentence for plans, confirmations and dry runs. */
  description: string;
  /** Runs while the cluster is paused (counts toward downtime and its estimate). */
  downtime?: boolean;
  /** A failure here ends the run as failed-validation (nothing has been changed yet). */
  validation?: boolean;
  /**
   * A failure here does not fail the run: it is recorded, and the run ends partially-failed (e.g. verify,
   * announcements).
   */
  optional?: boolean;
  /** Tells whether the work is already done in the world (so a retried run skips it). */
  isDone?(ctx: StepContext<O>): Promise<StepResult<O> | undefined>;
  run(ctx: StepContext<O>): Promise<StepResult<O>>;
  /** The compensation, run in reverse order when a later step fails or the run is cancelled; must be idempotent. */
  undo?(ctx: StepContext<O>): Promise<void>;
  /** This step is the undo of the named earlier step done on the happy path (resume undoes pause). */
  compensates?: string;
}

/** A step of an operation as a checklist lists it before the run: its name, title and whether it is downtime. */
export interface PlannedStep {
  name: string;
  title: string;
  downtime?: boolean;
}

/** The checklist of `steps`, in order. */
export function plannedSteps<O>(steps: readonly Step<O>[]): PlannedStep[] {
  return steps.map((s) => ({ name: s.name, title: s.title, downtime: s.downtime ?? false }));
}
