import type { HistoryItemView } from '../slack/views/view-models.js';
import type { RunRecord, RunStore, StepRecord } from '../state/run-store.js';

/** The step that pauses a cluster, in backups and restores alike. */
const PAUSE_STEP = 'pause';

/**
 * Whether a run paused its cluster, from its steps as the state database has them: the pause step ran (done,
 * skipped on a retry, undone, or failed half-way and undone), or its undo failed — then the cluster was left
 * paused. When the run did not measure its downtime (it was cancelled or failed before resuming), it lasted about
 * from the pause's start to the run's end: the resume is the last thing a run that stops undoes.
 */
export function pauseOf(run: Pick<RunRecord, 'finishedAt' | 'downtimeSeconds'>, steps: readonly Pick<StepRecord, 'name' | 'state' | 'startedAt'>[]): HistoryItemView['pause'] {
  const pause = steps.find((s) => s.name === PAUSE_STEP);
  if (!pause || pause.state === 'pending') return undefined;
  if (pause.state === 'undo-failed') return { stillPaused: true };
  if (pause.state === 'running') return { now: true };
  if (run.downtimeSeconds !== null || !pause.startedAt || !run.finishedAt) return {};
  return { approxSeconds: Math.max(0, (run.finishedAt.getTime() - pause.startedAt.getTime()) / 1000) };
}

/**
 * A cluster's newest runs as `history` shows them, newest first: phase, who asked, the estimate against the real
 * downtime, the error — and whether each paused the cluster, also when it was cancelled or failed before it could
 * measure its downtime. Slack's `history` and the CLI's read this.
 */
export async function readRunHistory(runs: Pick<RunStore, 'listRuns' | 'getSteps'>, cluster: string, options: { limit?: number } = {}): Promise<HistoryItemView[]> {
  const records = await runs.listRuns({ cluster, limit: options.limit ?? 20 });
  const steps = await Promise.all(records.map((r) => runs.getSteps(r.id)));
  return records.map((r, i) => {
    const estimate = r.estimate as { expectedSeconds?: number; lowSeconds?: number; highSeconds?: number } | null;
    const pause = pauseOf(r, steps[i]!);
    return {
      id: r.id,
      kind: r.kind,
      phase: r.phase,
      requestedBy: r.requestedBy,
      createdAt: r.createdAt.toISOString(),
      ...(estimate?.expectedSeconds !== undefined ? { estimatedSeconds: estimate.expectedSeconds } : {}),
      ...(estimate?.lowSeconds !== undefined ? { estimateLowSeconds: estimate.lowSeconds } : {}),
      ...(estimate?.highSeconds !== undefined ? { estimateHighSeconds: estimate.highSeconds } : {}),
      ...(r.downtimeSeconds !== null ? { actualSeconds: r.downtimeSeconds } : {}),
      ...(pause ? { pause } : {}),
      ...(r.error ? { error: r.error } : {}),
    };
  });
}
