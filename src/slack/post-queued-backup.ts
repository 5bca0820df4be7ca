import type { WebClient } from '@slack/web-api';
import type { ClusterConfig } from '../config/config.js';
import type { SlackRunTarget } from '../jobs/operations-queue.js';
import type { RunRecord, RunStore } from '../state/run-store.js';
import { buildRunMessage } from './views/run-message.js';
import type { DowntimeEstimate } from './views/view-models.js';

/**
 * Posts the run message of a backup just queued (confirmed in Slack, or started by a schedule) in `channel`, and
 * records it with the run: the message the worker's reporter then edits, and where its announcements go. Slack's
 * errors are the caller's to handle.
 */
export async function postQueuedBackup(
  client: Pick<WebClient, 'chat'>,
  runs: RunStore,
  options: { run: RunRecord; cluster: ClusterConfig; channel: string; estimate?: DowntimeEstimate },
): Promise<SlackRunTarget> {
  const { run, cluster } = options;
  const message = buildRunMessage({
    id: run.id,
    kind: 'backup',
    cluster: cluster.name,
    clusterDisplayName: cluster.displayName,
    requestedBy: run.requestedBy,
    ...(run.note ? { note: run.note } : {}),
    phase: 'queued',
    steps: [],
    startedAt: run.createdAt.toISOString(),
    ...(options.estimate ? { estimate: options.estimate } : {}),
    warnings: [],
  });
  const posted = await client.chat.postMessage({ channel: options.channel, text: message.text, blocks: message.blocks });
  const slack: SlackRunTarget = { channel: posted.channel ?? options.channel, ts: posted.ts!, ...(cluster.slack?.announceChannel ? { announceChannel: cluster.slack.announceChannel } : {}) };
  await runs.setRunFields(run.id, { slack });
  return slack;
}
