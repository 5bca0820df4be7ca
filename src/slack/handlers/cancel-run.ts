import type { SlackAppDeps } from '../app-deps.js';
import { isFinal } from '../../runner/run-phase.js';
import type { WebClient } from '@slack/web-api';
import { usageError } from '../views/help.js';
import { buildRunMessage } from '../views/run-message.js';

/**
 * Cancels a run for an operator of its cluster: a run no worker has started is removed from the queue and
 * marked cancelled; a running one is asked to stop — before the pause it just stops, after it the runner undoes
 * what it did and resumes the cluster. Returns the text to show the requester.
 */
export async function cancelRun(request: { userId: string; runId: string; client: WebClient }, deps: SlackAppDeps): Promise<{ ok: boolean; text: string; blocks?: unknown[] }> {
  const run = /^[a-z0-9-]{1,100}$/.test(request.runId) ? await deps.runs.getRun(request.runId) : undefined;
  if (!run) return { ok: false, ...usageError(`no run \`${request.runId.slice(0, 80)}\``, '/pachbackup history <cluster> lists the runs') };
  const cluster = deps.config.clusters[run.cluster];
  if (!cluster || !(await deps.authorizer.can(request.userId, 'operate', cluster))) {
    await deps.audit.record({ actor: request.userId, action: 'cancel', cluster: run.cluster, runId: run.id, outcome: 'refused', detail: { reason: 'not an operator' } });
    return { ok: false, ...usageError(`you are not an operator of ${run.cluster}: only its operators may cancel its runs`, 'ask one of its operators') };
  }
  if (isFinal(run.phase)) return { ok: false, ...usageError(`${run.id} already ended (${run.phase})`, 'nothing to cancel') };
  if (await deps.queue.removeIfWaiting(run.id)) {
    await deps.runs.finishRun(run.id, { phase: 'cancelled', error: `cancelled by <@${request.userId}> before it started`, warnings: [] });
    await deps.audit.record({ actor: request.userId, action: 'cancel', cluster: run.cluster, runId: run.id, outcome: 'cancelled', detail: { when: 'queued' } });
    const slack = run.slack as { channel?: string; ts?: string } | null;
    if (slack?.channel && slack.ts) {
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
        error: `cancelled by <@${request.userId}> before it started`,
        warnings: [],
      });
      await request.client.chat.update({ channel: slack.channel, ts: slack.ts, text: message.text, blocks: message.blocks }).catch(() => undefined);
    }
    return { ok: true, text: `Cancelled ${run.id} before it started; nothing was touched.` };
  }
  await deps.requestCancel(run.id);
  await deps.audit.record({ actor: request.userId, action: 'cancel', cluster: run.cluster, runId: run.id, outcome: 'requested', detail: { phase: run.phase } });
  return { ok: true, text: `Cancelling ${run.id}: if ${run.cluster} is paused it is resumed first; the thread shows when it is done.` };
}
