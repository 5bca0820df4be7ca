/**
 * The phase of a run, as data (as Velero's backup phases are). Stored in the state database, shown in Slack and
 * printed by the CLI's `--json`.
 */
export type RunPhase =
  /** Accepted and waiting for a worker. */
  | 'queued'
  /** Preflight checks running; nothing has been changed yet. */
  | 'validating'
  /** Steps running; the cluster may be paused. */
  | 'running'
  /** Every step succeeded. */
  | 'succeeded'
  /** The backup is complete and usable, but a step off the critical path failed (e.g. verify, an announcement). */
  | 'partially-failed'
  /** A preflight check failed; nothing was changed. */
  | 'failed-validation'
  /** A step failed; the compensations ran (the cluster was resumed) and the backup is not usable. */
  | 'failed'
  /** Stopped on request; the compensations ran. */
  | 'cancelled';

export const ACTIVE_PHASES: readonly RunPhase[] = ['queued', 'validating', 'running'];
export const FINAL_PHASES: readonly RunPhase[] = ['succeeded', 'partially-failed', 'failed-validation', 'failed', 'cancelled'];

export function isFinal(phase: RunPhase): boolean {
  return FINAL_PHASES.includes(phase);
}

/** The state of one step of a run. */
export type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'undone' | 'undo-failed';
