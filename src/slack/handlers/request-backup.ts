import { describeError } from '../../errors.js';
import type { SlackAppDeps } from '../app-deps.js';
import { buildBackupConfirmation } from '../views/backup-confirmation.js';
import { buildBusyRefusal } from '../views/busy-refusal.js';
import { usageError } from '../views/help.js';
import { replyPrivately, type CommandContext } from './command-context.js';

/**
 * `/pachbackup backup <cluster>`: checks the requester may operate the cluster and that it is free, then shows
 * them — privately — exactly what will be paused, where, and for about how long, with Confirm and Cancel.
 * Nothing is queued until they confirm.
 */
export async function requestBackup(ctx: CommandContext, command: { cluster: string; note?: string }, deps: SlackAppDeps): Promise<void> {
  const cluster = deps.config.clusters[command.cluster]!;
  const audit = (outcome: 'requested' | 'refused', detail: Record<string, unknown> = {}) =>
    deps.audit.record({ actor: ctx.userId, action: 'backup', cluster: cluster.name, outcome, detail: { via: 'slack', channel: ctx.channelId, ...detail } });

  if (!(await deps.authorizer.can(ctx.userId, 'operate', cluster))) {
    await audit('refused', { reason: 'not an operator' });
    return replyPrivately(ctx, usageError(`you are not an operator of ${cluster.name}: only its operators may start backups`, 'ask a platform engineer, or use `/pachbackup status` and `/pachbackup list`, which are open to everyone'));
  }
  const busy = await deps.locks.holder(cluster.name);
  if (busy) {
    await audit('refused', { reason: 'busy', runningRun: busy.runId });
    return replyPrivately(ctx, buildBusyRefusal({ cluster: cluster.name, ...busy, now: new Date().toISOString(), fallbackZone: deps.fallbackZone }));
  }
  const adapters = deps.adapters(cluster);
  let snapshot;
  let estimate;
  try {
    [snapshot, estimate] = await Promise.all([adapters.workloads.snapshot(), deps.reads.estimate(cluster)]);
  } catch (err) {
    await audit('refused', { reason: 'cluster unreachable', error: describeError(err) });
    return replyPrivately(ctx, usageError(`cannot reach ${cluster.name}: ${describeError(err)}`, 'check the cluster, then try again'));
  }
  const { id, expiresAt } = await deps.confirmations.create({
    userId: ctx.userId,
    channelId: ctx.channelId,
    cluster: cluster.name,
    ...(command.note ? { note: command.note } : {}),
    estimate,
  });
  await audit('requested', { note: command.note, estimatedSeconds: estimate.expectedSeconds });
  await replyPrivately(
    ctx,
    buildBackupConfirmation(
      {
        confirmationId: id,
        cluster: cluster.name,
        clusterDisplayName: cluster.displayName,
        context: cluster.kubernetes.inCluster ? 'in-cluster' : (cluster.kubernetes.context ?? ''),
        namespace: cluster.kubernetes.namespace,
        pauseStrategy: cluster.pachyderm.pauseStrategy,
        deployments: [snapshot.pachd, ...snapshot.deployments],
        workers: snapshot.workers,
        ingress: [...cluster.ingress.cronJobs.map((c) => `CronJob ${c}`), ...cluster.ingress.deployments.map((d) => `Deployment ${d}`)],
        databases: cluster.postgres.databases,
        bucket: cluster.objectStore.bucket,
        backupStore: `${cluster.backupStore.bucket}${cluster.backupStore.prefix ? `/${cluster.backupStore.prefix}` : ''}`,
        estimate,
        ...(command.note ? { note: command.note } : {}),
        expiresAt,
      },
      deps.fallbackZone,
    ),
  );
}
