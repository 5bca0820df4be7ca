import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { newBackupId } from '../../catalog/backup-layout.js';
import type { SlackAppDeps } from '../app-deps.js';
import { postQueuedBackup } from '../post-queued-backup.js';
import { usageError } from '../views/help.js';
import { buildQueuedNotice } from '../views/queued-notice.js';
import type { DowntimeEstimate } from '../views/view-models.js';

const REFUSALS = {
  unknown: 'this confirmation is unknown or has expired',
  used: 'this confirmation was already used',
  'not-yours': 'only the person who asked for this backup can confirm it',
} as const;

/**
 * The Confirm click: takes the one-time confirmation (a forged, replayed or expired value gets an error and
 * nothing is queued), re-checks the clicker may operate the cluster, creates the run, posts its message in the
 * ops channel and queues it. Returns the run id, or undefined when refused.
 */
export async function confirmBackup(
  click: { userId: string; confirmationId: string; respond: RespondFn; client: WebClient },
  deps: SlackAppDeps,
): Promise<string | undefined> {
  const taken = await deps.confirmations.take(click.confirmationId, click.userId);
  if (!taken.ok) {
    await deps.audit.record({ actor: click.userId, action: 'backup-confirm', outcome: 'refused', ...(taken.pending ? { cluster: taken.pending.cluster } : {}), detail: { reason: taken.reason } });
    await click.respond({ replace_original: false, ...usageError(REFUSALS[taken.reason], 'start again with `/pachbackup backup <cluster>`') });
    return undefined;
  }
  const { pending } = taken;
  const cluster = deps.config.clusters[pending.cluster];
  if (!cluster || !(await deps.authorizer.can(click.userId, 'operate', cluster))) {
    await deps.audit.record({ actor: click.userId, action: 'backup-confirm', cluster: pending.cluster, outcome: 'refused', detail: { reason: 'not an operator' } });
    await click.respond({ replace_original: false, ...usageError(`you are not an operator of ${pending.cluster}`, 'ask one of its operators') });
    return undefined;
  }
  const estimate = pending.estimate as DowntimeEstimate;
  const runId = newBackupId(cluster.name);
  const requestedBy = `<@${click.userId}>`;
  const run = await deps.runs.createRun({ id: runId, kind: 'backup', cluster: cluster.name, requestedBy, ...(pending.note ? { note: pending.note } : {}), estimate });
  const opsChannel = cluster.slack?.opsChannel ?? pending.channelId;
  const slack = await postQueuedBackup(click.client, deps.runs, { run, cluster, channel: opsChannel, estimate });
  await deps.queue.enqueue({ kind: 'backup', runId });
  await deps.audit.record({ actor: click.userId, action: 'backup-confirm', cluster: cluster.name, runId, outcome: 'accepted', detail: { note: pending.note } });
  await click.respond({ response_type: 'ephemeral', replace_original: true, ...buildQueuedNotice({ kind: 'Backup', runId, clusterDisplayName: cluster.displayName, channel: slack.channel }) });
  return runId;
}
