import type { RunPhase, StepState } from '../../runner/run-phase.js';

/**
 * The icons and words a run's phase and steps are shown with, the same in the checklist, the thread replies,
 * `status`, `history` and App Home.
 */

/** The icon of each step state in the checklist. */
export const STEP_ICONS: Record<StepState, string> = {
  pending: '⏳',
  running: '🔄',
  done: '✅',
  skipped: '⏭️',
  failed: '❌',
  undone: '↩️',
  'undo-failed': '🚨',
};

/** The emoji and word for each run phase. */
export const PHASE_BADGES: Record<RunPhase, { emoji: string; word: string }> = {
  queued: { emoji: '⏳', word: 'Queued' },
  validating: { emoji: '🔍', word: 'Checking' },
  running: { emoji: '🔄', word: 'Running' },
  succeeded: { emoji: '✅', word: 'Succeeded' },
  'partially-failed': { emoji: '⚠️', word: 'Partially failed' },
  'failed-validation': { emoji: '🚫', word: 'Failed preflight (nothing changed)' },
  failed: { emoji: '❌', word: 'Failed' },
  cancelled: { emoji: '🛑', word: 'Cancelled' },
};

/** "🔄 Running", "✅ Succeeded", … */
export function phaseBadge(phase: RunPhase): string {
  const badge = PHASE_BADGES[phase];
  return `${badge.emoji} ${badge.word}`;
}

/** "Backup", "Restore", "Drill" — a run's kind as a word to start a sentence with. */
export function kindWord(kind: string): string {
  return kind.length === 0 ? 'Run' : `${kind[0]!.toUpperCase()}${kind.slice(1)}`;
}
