import { formatBytes, formatDuration } from '../../format-units.js';
import { type SlackMessage, LIMITS, context, header, listSections, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, joinWithin, plural, codeSpan } from './mrkdwn.js';
import { SLACK_DATE_TIME, formatAge, slackDate } from './time-text.js';
import type { BackupListItemView } from './view-models.js';

const VERIFIED_ICONS = { true: '✅', false: '❌', null: '◽' } as const;

/**
 * The `list <cluster>` reply: the cluster's complete backups, newest first, one line each — id, when, how long
 * Pachyderm was paused, objects and bytes, database dump size, Pachyderm version and whether it verified.
 * With `now`, each line also says how long ago. An empty catalog says how to make the first backup.
 */
export function buildBackupList(view: {
  cluster: string;
  clusterDisplayName: string;
  backups: BackupListItemView[];
  /** Ids of backups without a manifest: in progress, or abandoned by a failed run. */
  incomplete?: string[];
  /** Now, ISO: with it, each line says how long ago. */
  now?: string;
  /** Zone of the date tokens' plain-text fallback. */
  zone?: string;
}): SlackMessage {
  const { backups } = view;
  const cluster = { name: view.cluster, displayName: view.clusterDisplayName };
  const name = escapeAndTruncate(cluster.displayName, 200);
  const incomplete = view.incomplete ?? [];
  const incompleteNote =
    incomplete.length > 0
      ? context(
          `${plural(incomplete.length, 'incomplete backup')} (no manifest: still running, or left by a failed run; not restorable): ${joinWithin(incomplete.map((id) => `${codeSpan(id)}`), 2000)}`,
        )
      : undefined;
  if (backups.length === 0) {
    return {
      text: messageText(escapeMrkdwn(`No backups of ${cluster.displayName} yet.`)),
      blocks: [section(`No backups of *${name}* yet. Start one with ${codeSpan(`/pachbackup backup ${cluster.name}`, 250)}.`), ...(incompleteNote ? [incompleteNote] : [])],
    };
  }
  const zone = view.zone ?? 'UTC';
  const sorted = [...backups].sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt) || a.id.localeCompare(b.id));
  const lines = sorted.map((b) => {
    const when = `${slackDate(b.completedAt, SLACK_DATE_TIME, zone)}${view.now ? ` (${formatAge(b.completedAt, view.now)})` : ''}`;
    const facts = [
      when,
      `paused ${formatDuration(b.downtimeSeconds * 1000)}`,
      `${plural(b.objects, 'object')}, ${formatBytes(b.bytes)}`,
      `databases ${formatBytes(b.databaseBytes)}`,
      ...(b.pachydermVersion ? [`Pachyderm ${escapeAndTruncate(b.pachydermVersion, 60)}`] : []),
    ];
    return `${VERIFIED_ICONS[`${b.verified}`]} ${codeSpan(b.id, 200)}\n\u2003\u2003${facts.join(' · ')}`;
  });
  const top = [header(`Backups of ${cluster.displayName}`)];
  const legend = context(`${plural(backups.length, 'backup')}, newest first · ✅ verified · ❌ verification failed · ◽ not verified yet · \`/pachbackup show &lt;backup-id&gt;\` for details`);
  return {
    text: messageText(escapeMrkdwn(`${plural(backups.length, 'backup')} of ${cluster.displayName}; newest ${sorted[0]!.id}`)),
    blocks: [...top, ...listSections(lines, LIMITS.blocksPerMessage - 3, 'older backups'), legend, ...(incompleteNote ? [incompleteNote] : [])],
  };
}
