import { drillLockName } from '../../drill/drill-steps.js';
import { newOperationId } from '../../restore/operation-id.js';
import type { SlackAppDeps } from '../app-deps.js';
import { buildDrillMessage } from '../views/drill-summary.js';
import { usageError } from '../views/help.js';
import { buildQueuedNotice } from '../views/queued-notice.js';
import { replyPrivately, type CommandContext } from './command-context.js';

/**
 * `/pachbackup drill <cluster> [backup-id]` (operators): no approval and no confirmation — a drill restores into
 * scratch and never touches the cluster. Posts the drill's message in the ops channel, records the drill's run
 * (who asked, which backup, where its message is) and queues a job naming it; the worker reports each check and
 * the verdict in its thread. While a drill of the cluster runs or waits, another is refused, naming it.
 */
export async function requestDrill(ctx: CommandContext, command: { cluster: string; backupId?: string }, deps: SlackAppDeps): Promise<string | undefined> {
  const cluster = deps.config.clusters[command.cluster]!;
  if (!(await deps.authorizer.can(ctx.userId, 'operate', cluster))) {
    await deps.audit.record({ actor: ctx.userId, action: 'drill', cluster: cluster.name, outcome: 'refused', detail: { via: 'slack', reason: 'not an operator' } });
    await replyPrivately(ctx, usageError(`you are not an operator of ${cluster.name}: only its operators may run drills`, `ask one of its operators, or use \`/pachbackup list ${cluster.name}\` to see its backups`));
    return undefined;
  }
  // One drill per cluster at a time: say which one runs (or waits) rather than queue another.
  const busy = await drillInProgress(deps, cluster.name);
  if (busy) {
    await deps.audit.record({ actor: ctx.userId, action: 'drill', cluster: cluster.name, outcome: 'refused', detail: { via: 'slack', reason: 'a drill is in progress', drill: busy.runId } });
    await replyPrivately(ctx, usageError(`a drill of ${cluster.name} is already ${busy.state}: drill ${busy.runId} requested by ${busy.requestedBy}`, 'one drill per cluster at a time: ask again when it has finished (its verdict is in its thread)'));
    return undefined;
  }
  const runId = newOperationId('drill', cluster.name);
  const requestedBy = `<@${ctx.userId}>`;
  const opsChannel = cluster.slack?.opsChannel ?? ctx.channelId;
  const message = buildDrillMessage({ id: runId, cluster: cluster.name, ...(command.backupId ? { backupId: command.backupId } : {}), requestedBy, state: 'queued' });
  const posted = await ctx.client.chat.postMessage({ channel: opsChannel, text: message.text, blocks: message.blocks });
  const slack = { channel: posted.channel ?? opsChannel, ts: posted.ts! };
  // The job names the run; what the worker runs, for whom and where it reports is read from this record.
  await deps.runs.createRun({ id: runId, kind: 'drill', cluster: cluster.name, requestedBy, ...(command.backupId ? { backupId: command.backupId, note: `drill of ${command.backupId}` } : {}), slack });
  await deps.queue.enqueue({ kind: 'drill', runId });
  await deps.audit.record({ actor: ctx.userId, action: 'drill', cluster: cluster.name, runId, outcome: 'requested', detail: { via: 'slack', backupId: command.backupId ?? null } });
  await replyPrivately(ctx, buildQueuedNotice({ kind: 'Drill', runId, clusterDisplayName: cluster.displayName, channel: slack.channel }));
  return runId;
}

/** The drill of `cluster` that runs (holds the drill lock) or waits for a worker, if any. */
async function drillInProgress(deps: SlackAppDeps, cluster: string): Promise<{ runId: string; requestedBy: string; state: 'running' | 'queued' } | undefined> {
  const holder = await deps.locks.holder(drillLockName(cluster));
  if (holder) return { runId: holder.runId, requestedBy: holder.requestedBy, state: 'running' };
  for (const run of await deps.runs.listRuns({ cluster, kind: 'drill', phases: ['queued'], limit: 10 })) {
    // A queued drill whose job is gone (the app died before queueing it) will never run: it holds nothing.
    if (await deps.queue.isPending(run.id)) return { runId: run.id, requestedBy: run.requestedBy, state: 'queued' };
  }
  return undefined;
}
