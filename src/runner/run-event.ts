import type { RunPhase, StepState } from './run-phase.js';

/** Sizes a step reports: what it moved or touched. */
export interface StepSizes {
  bytes?: number;
  objects?: number;
  rows?: number;
}

/** Progress within a step: counts done so far and, when known, the totals. */
export interface StepProgress {
  bytesDone?: number;
  bytesTotal?: number;
  objectsDone?: number;
  objectsTotal?: number;
  message?: string;
  /**
   * A service has been failing for a while and is being retried (or answers again): told once a series of retries
   * has lasted `RETRY_NOTICE_AFTER_MS`, never for a blip.
   */
  retry?: { service: string; since: string; attempts: number; error?: string; recovered: boolean };
}

/**
 * The one event stream of a run. The CLI's progress display, the Slack thread and metrics all consume it;
 * nothing else reports what a run does.
 */
export type RunEvent =
  | { type: 'run-phase'; runId: string; at: string; phase: RunPhase; error?: string }
  | { type: 'step-started'; runId: string; at: string; step: string; title: string; position: number; total: number; downtime: boolean }
  | { type: 'step-progress'; runId: string; at: string; step: string; progress: StepProgress }
  | { type: 'step-finished'; runId: string; at: string; step: string; state: Extract<StepState, 'done' | 'skipped'>; durationMs: number; sizes: StepSizes; summary?: string }
  | { type: 'step-failed'; runId: string; at: string; step: string; durationMs: number; error: string; critical: boolean }
  | { type: 'undo-started'; runId: string; at: string; step: string; title: string; cause: UndoCause }
  /** An attempt at an undo failed and another follows: the undo's effect (a resumed cluster) is not there yet. */
  | { type: 'undo-retrying'; runId: string; at: string; step: string; title: string; attempt: number; attempts: number; error: string }
  | { type: 'undo-finished'; runId: string; at: string; step: string; state: Extract<StepState, 'undone' | 'undo-failed'>; error?: string }
  | { type: 'run-finished'; runId: string; at: string; phase: RunPhase; error?: string; downtimeSeconds?: number; warnings: string[] }
  /**
   * A run carried on from an earlier attempt's checkpoints: the steps that attempt finished (they emit nothing
   * again), with when each finished — so a reporter that missed them (its process died) knows, e.g., that the
   * cluster was already resumed.
   */
  | { type: 'run-picked-up'; runId: string; at: string; done: { step: string; finishedAt?: string }[] }
  /** The run stopped outside its pause (its process shut down, its lease was lost) and waits for another process. */
  | { type: 'run-handed-back'; runId: string; at: string; reason: string };

/** Why a run's changes are being undone: a step failed, someone cancelled the run, or a crashed attempt is aborted. */
export type UndoCause = 'failure' | 'cancel' | 'abort';

export type RunEventListener = (event: RunEvent) => void;

/** Fans events out to listeners; a listener that throws never breaks the run. */
export interface RunEvents {
  emit(event: RunEvent): void;
  subscribe(listener: RunEventListener): () => void;
}

export function createRunEvents(onListenerError?: (err: unknown) => void): RunEvents {
  const listeners = new Set<RunEventListener>();
  return {
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (err) {
          onListenerError?.(err);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
