import type { HistoryItemView } from '../slack/views/view-models.js';
import type { RunStore } from '../state/run-store.js';

/**
 * A cluster's newest runs as `history` shows them, newest first: phase, who asked, the estimate against the real
 * downtime, the error. Slack's `history` and the CLI's read this.
 */
export async function readRunHistory(runs: Pick<RunStore, 'listRuns'>, cluster: string, options: { limit?: number } = {}): Promise<HistoryItemView[]> {
  const records = await runs.listRuns({ cluster, limit: options.limit ?? 20 });
  return records.map((r) => {
    const estimate = r.estimate as { expectedSeconds?: number; lowSeconds?: number; highSeconds?: number } | null;
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
      ...(r.error ? { error: r.error } : {}),
    };
  });
}
