import { parseBackupId } from '../../catalog/backup-layout.js';
import { describeError } from '../../errors.js';
import type { SlackAppDeps } from '../app-deps.js';
import type { ParsedCommand } from '../parse-command.js';
import { buildBackupList } from '../views/backup-list.js';
import { buildBackupShow } from '../views/backup-show.js';
import { buildClusterStatus } from '../views/cluster-status.js';
import { buildEstimateView } from '../views/estimate-view.js';
import { buildHelp, usageError } from '../views/help.js';
import { buildRunHistory } from '../views/run-history.js';
import type { BackupListItemView } from '../views/view-models.js';
import { readRunHistory } from '../../status/run-history.js';
import { replyPrivately, type CommandContext } from './command-context.js';

/** The status of every configured cluster (or one), gathered in parallel. */
export async function gatherStatus(deps: Pick<SlackAppDeps, 'config' | 'reads'>, only?: string) {
  const clusters = Object.values(deps.config.clusters).filter((c) => !only || c.name === only);
  return Promise.all(clusters.map((cluster) => deps.reads.status(cluster)));
}

/**
 * The read-only subcommands — help, status, estimate, list, show, history — open to anyone in the workspace,
 * answered privately to whoever asked.
 */
export async function handleReadCommand(ctx: CommandContext, command: Exclude<ParsedCommand, { name: 'backup' | 'cancel' }>, deps: SlackAppDeps): Promise<void> {
  switch (command.name) {
    case 'help':
      return replyPrivately(ctx, buildHelp());
    case 'status':
      return replyPrivately(ctx, buildClusterStatus(await gatherStatus(deps, command.cluster)));
    case 'estimate': {
      const cluster = deps.config.clusters[command.cluster]!;
      try {
        return replyPrivately(ctx, buildEstimateView({ cluster: cluster.name, clusterDisplayName: cluster.displayName, estimate: await deps.reads.estimate(cluster) }));
      } catch (err) {
        return replyPrivately(ctx, usageError(`could not estimate a backup of ${cluster.name}: ${describeError(err)}`, `try again in a minute; \`/pachbackup status ${cluster.name}\` shows whether the cluster answers`));
      }
    }
    case 'list': {
      const cluster = deps.config.clusters[command.cluster]!;
      const { backups, incomplete } = await deps.reads.backups(cluster);
      const items: BackupListItemView[] = backups.map(({ manifest: m, verification }) => ({
        id: m.id,
        completedAt: m.completedAt,
        downtimeSeconds: m.downtime.seconds,
        objects: m.objects.count,
        bytes: m.objects.bytes,
        databaseBytes: m.databases.reduce((n, d) => n + d.bytes, 0),
        ...(m.pachyderm.appVersion ? { pachydermVersion: m.pachyderm.appVersion } : {}),
        verified: verification ? verification.ok : null,
      }));
      return replyPrivately(ctx, buildBackupList({ cluster: cluster.name, clusterDisplayName: cluster.displayName, backups: items, incomplete, now: new Date().toISOString(), zone: deps.fallbackZone, ...(command.page ? { page: command.page } : {}) }));
    }
    case 'show': {
      const clusterName = parseBackupId(command.backupId)?.cluster;
      const cluster = clusterName ? deps.config.clusters[clusterName] : undefined;
      const manifest = cluster ? await deps.adapters(cluster).catalog.readManifest(cluster.name, command.backupId) : undefined;
      if (!cluster || !manifest) {
        return replyPrivately(ctx, usageError(`no complete backup \`${command.backupId.slice(0, 80)}\``, '`/pachbackup list <cluster>` shows the backups; then `/pachbackup show <backup-id>`'));
      }
      const verification = await deps.adapters(cluster).catalog.readVerification(cluster.name, command.backupId);
      return replyPrivately(ctx, buildBackupShow(manifest, verification));
    }
    case 'history': {
      const cluster = deps.config.clusters[command.cluster]!;
      const items = await readRunHistory(deps.runs, cluster.name);
      return replyPrivately(ctx, buildRunHistory({ cluster: cluster.name, clusterDisplayName: cluster.displayName, runs: items, zone: deps.fallbackZone }));
    }
  }
}
