import type { WebClient } from '@slack/web-api';
import type { ClusterConfig } from '../../config/config.js';
import { cancelRun as cancelAnyRun } from '../../jobs/cancel-run.js';
import type { RunRecord } from '../../state/run-store.js';
import type { SlackAppDeps } from '../app-deps.js';
import { usageError } from '../views/help.js';
import { buildRunMessage } from '../views/run-message.js';

/**
 * `/pachbackup cancel` and the run message's Cancel button, for an operator of the run's cluster (see
 * `jobs/cancel-run.ts`). Returns the text to show the requester.
 */
export async function cancelRun(request: { userId: string; runId: string; client: WebClient }, deps: SlackAppDeps): Promise<{ ok: boolean; text: string; blocks?: unknown[] }> {
  const result = await cancelAnyRun(
    { actor: request.userId, by: `<@${request.userId}>`, runId: request.runId, mayCancel: (cluster) => deps.authorizer.can(request.userId, 'operate', cluster) },
    deps,
  );
  switch (result.outcome) {
    case 'unknown-run':
      return { ok: false, ...usageError(result.problem, '`/pachbackup history <cluster>` lists the runs') };
    case 'refused':
      return { ok: false, ...usageError(result.problem, 'ask one of its operators') };
    case 'already-ended':
      return { ok: false, ...usageError(result.problem, 'nothing to cancel') };
    case 'cancelled-before-start':
      await showCancelledBeforeStart(request.client, result.run, result.cluster, result.error);
      return { ok: true, text: result.text };
    case 'requested':
      return { ok: true, text: result.text };
  }
}

/**
 * Edits a run's message in its ops channel (when it has one) to say it was cancelled before it started — the
 * worker never picks it up to say so. Best effort: the run is cancelled whether or not Slack answers.
 */
export async function showCancelledBeforeStart(client: Pick<WebClient, 'chat'>, run: RunRecord, cluster: ClusterConfig, error: string): Promise<void> {
  const slack = run.slack as { channel?: string; ts?: string } | null;
  if (!slack?.channel || !slack.ts) return;
  const message = buildRunMessage({
    id: run.id,
    kind: run.kind === 'backup' ? 'backup' : 'restore',
    cluster: run.cluster,
    clusterDisplayName: cluster.displayName,
    requestedBy: run.requestedBy,
    ...(run.note ? { note: run.note } : {}),
    phase: 'cancelled',
    steps: [],
    startedAt: run.createdAt.toISOString(),
    error,
    warnings: [],
  });
  await client.chat.update({ channel: slack.channel, ts: slack.ts, text: message.text, blocks: message.blocks }).catch(() => undefined);
}
