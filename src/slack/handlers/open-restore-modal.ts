import type { ClusterConfig } from '../../config/config.js';
import { describeError } from '../../errors.js';
import type { SlackAppDeps } from '../app-deps.js';
import { usageError } from '../views/help.js';
import { backupOptions, buildRestoreModal, type RestoreBackupChoice, type RestoreModalMetadata, type UnlistedCluster } from '../views/restore-modal.js';
import { replyPrivately, type CommandContext } from './command-context.js';

/**
 * `/pachbackup restore [cluster]` (operators): opens the restore modal with the command's trigger id, listing the
 * complete backups of the cluster (of every cluster the user operates when none is named), newest first.
 *
 * A trigger id is good for 3 seconds, and listing a backup store can take longer, so the modal opens at once with
 * the backups "loading", and is replaced by the full one (`views.update`, by the view id and hash `views.open`
 * answered) once they are listed. A cluster whose backups cannot be listed is named in the modal with the error.
 */
export async function openRestoreModal(ctx: CommandContext & { triggerId: string }, command: { cluster?: string }, deps: SlackAppDeps): Promise<void> {
  const clusters = Object.values(deps.config.clusters);
  const allowed = [];
  for (const c of clusters) if (await deps.authorizer.can(ctx.userId, 'operate', c)) allowed.push(c);
  if (allowed.length === 0 || (command.cluster && !allowed.some((c) => c.name === command.cluster))) {
    await deps.audit.record({ actor: ctx.userId, action: 'restore', ...(command.cluster ? { cluster: command.cluster } : {}), outcome: 'refused', detail: { via: 'slack', reason: 'not an operator' } });
    return replyPrivately(ctx, usageError(`you are not an operator of ${command.cluster ?? 'any cluster'}: only operators may ask for restores`, 'ask one of its operators'));
  }
  // Only backups of clusters the user operates: another cluster's backup holds its data, for its operators alone.
  const sources = command.cluster ? allowed.filter((c) => c.name === command.cluster) : allowed;
  const metadata: RestoreModalMetadata = { channelId: ctx.channelId, sources: sources.map((c) => c.name) };
  const form = { clusters: allowed.map((c) => c.name), ...(command.cluster ? { defaultCluster: command.cluster } : {}), metadata };

  const opened = await ctx.client.views.open({
    trigger_id: ctx.triggerId,
    view: buildRestoreModal({ ...form, backups: [], loading: sources.map((c) => c.name), now: new Date().toISOString() }),
  });
  const { backups, unlisted } = await listRestoreChoices(sources, deps);
  const view = buildRestoreModal({ ...form, backups, unlisted, now: new Date().toISOString() });
  // The hash makes Slack refuse the update if the view changed meanwhile; a modal already submitted or closed is
  // gone (`not_found`). Either way there is nobody left to show the list to.
  await ctx.client.views
    .update({ view_id: opened.view!.id!, hash: opened.view!.hash!, view })
    .catch((err: unknown) => deps.log.info({ err }, 'the restore modal was closed or changed before its backups were listed'));
}

/**
 * The backup picker's options for what `userId` typed (`query`) in the modal whose private_metadata is `metadata`:
 * the complete backups of the clusters the modal offers that the user still operates, matching the query, newest
 * first (see `backupOptions`). The rights are read again here (from the authorizer's short-lived cache: a lookup
 * per keystroke would exhaust Slack's usergroups rate limit; the submission checks them fresh). Answered within
 * Slack's 3 s from the coalesced backup listings.
 */
export async function loadRestoreBackupOptions(input: { userId: string; metadata: string; query: string }, deps: SlackAppDeps) {
  let wanted: string[] = [];
  try {
    wanted = (JSON.parse(input.metadata) as RestoreModalMetadata).sources ?? [];
  } catch {
    // Not our metadata: nothing to offer.
  }
  const sources: ClusterConfig[] = [];
  for (const name of wanted) {
    const cluster = deps.config.clusters[name];
    if (cluster && (await deps.authorizer.can(input.userId, 'operate', cluster))) sources.push(cluster);
  }
  const { backups } = await listRestoreChoices(sources, deps);
  return backupOptions(backups, input.query, new Date().toISOString());
}

/** The complete backups of `sources` for the modal, newest first, listed side by side; and the clusters that failed. */
async function listRestoreChoices(sources: ClusterConfig[], deps: SlackAppDeps): Promise<{ backups: RestoreBackupChoice[]; unlisted: UnlistedCluster[] }> {
  const backups: RestoreBackupChoice[] = [];
  const unlisted: UnlistedCluster[] = [];
  await Promise.all(
    sources.map(async (source) => {
      try {
        const { backups: entries } = await deps.reads.backups(source);
        for (const e of entries) {
          backups.push({
            id: e.manifest.id,
            completedAt: e.manifest.completedAt,
            bytes: e.manifest.objects.bytes + e.manifest.databases.reduce((n, d) => n + d.bytes, 0),
            ...(e.manifest.pachyderm.appVersion ? { pachydermVersion: e.manifest.pachyderm.appVersion } : {}),
            verified: e.verification ? (e.verification.ok ? 'ok' : 'failed') : 'unverified',
          });
        }
      } catch (err) {
        deps.log.warn({ err, cluster: source.name }, 'could not list backups for the restore modal');
        unlisted.push({ cluster: source.name, error: describeError(err) });
      }
    }),
  );
  backups.sort((a, b) => b.completedAt.localeCompare(a.completedAt));
  unlisted.sort((a, b) => a.cluster.localeCompare(b.cluster));
  return { backups, unlisted };
}
