import { formatBytes, formatDuration } from '../../format-units.js';
import { type SlackMessage, LIMITS, blockTextLength, context, header, listSections, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, formatCount, joinWithin, plural, codeSpan } from './mrkdwn.js';
import { SLACK_DATE_TIME, formatAge, slackDate } from './time-text.js';
import type { BackupListItemView } from './view-models.js';

const VERIFIED_ICONS = { true: '✅', false: '❌', null: '◽' } as const;

/**
 * Backups per page of `list`: each line is at most about 330 characters (id ≤ 100, version ≤ 60), so a page stays
 * well under the ~12,000 characters of block text Slack accepts in one message.
 */
export const BACKUPS_PER_PAGE = 25;

/**
 * The `list <cluster> [page]` reply: the cluster's complete backups, newest first, one line each — id, when, how
 * long Pachyderm was paused, objects and bytes, database dump size, Pachyderm version and whether it verified —
 * `BACKUPS_PER_PAGE` to a page, with which backups the page shows, how many there are and the command for the next
 * page. With `now`, each line also says how long ago. An empty catalog says how to make the first backup; a page
 * past the last says how many there are.
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
  /** Which page, from 1 (the newest backups); default 1. */
  page?: number;
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
  const pages = Math.ceil(sorted.length / BACKUPS_PER_PAGE);
  const page = view.page ?? 1;
  const command = (n: number) => codeSpan(`/pachbackup list ${cluster.name} ${n}`, 250);
  if (page > pages) {
    const line = `*${name}* has ${plural(backups.length, 'backup')}, ${plural(pages, 'page')} of ${BACKUPS_PER_PAGE}: there is no page ${page}. ${pages === 1 ? `${codeSpan(`/pachbackup list ${cluster.name}`, 250)} shows them` : `Pages 1 (the newest) to ${pages} (the oldest), e.g. ${command(pages)}`}.`;
    return { text: messageText(escapeMrkdwn(`${cluster.displayName} has ${plural(backups.length, 'backup')} in ${plural(pages, 'page')}: there is no page ${page}.`)), blocks: [section(line)] };
  }
  const first = (page - 1) * BACKUPS_PER_PAGE;
  const shownBackups = sorted.slice(first, first + BACKUPS_PER_PAGE);
  const lines = shownBackups.map((b) => {
    const when = `${slackDate(b.completedAt, SLACK_DATE_TIME, zone)}${view.now ? ` (${formatAge(b.completedAt, view.now)})` : ''}`;
    const facts = [
      when,
      `paused ${formatDuration(b.downtimeSeconds * 1000)}`,
      `${plural(b.objects, 'object')}, ${formatBytes(b.bytes)}`,
      `databases ${formatBytes(b.databaseBytes)}`,
      ...(b.pachydermVersion ? [`Pachyderm ${escapeAndTruncate(b.pachydermVersion, 60)}`] : []),
    ];
    return `${VERIFIED_ICONS[`${b.verified}`]} ${codeSpan(b.id, 100)}\n\u2003\u2003${facts.join(' · ')}`;
  });
  const range = pages > 1 ? `${formatCount(first + 1)}–${formatCount(first + shownBackups.length)} of ${formatCount(backups.length)} backups (page ${page} of ${pages})` : plural(backups.length, 'backup');
  const more = [
    ...(page < pages ? [`older: ${command(page + 1)}`] : []),
    ...(page > 1 ? [`newer: ${command(page - 1)}`] : []),
  ];
  const top = [header(`Backups of ${cluster.displayName}`)];
  const legend = context(`${range}, newest first${more.length > 0 ? ` · ${more.join(' · ')}` : ''} · ✅ verified · ❌ verification failed · ◽ not verified yet · \`/pachbackup show &lt;backup-id&gt;\` for details`);
  const fixed = [...top, legend, ...(incompleteNote ? [incompleteNote] : [])];
  return {
    text: messageText(escapeMrkdwn(`${range} of ${cluster.displayName}; newest ${sorted[0]!.id}`)),
    blocks: [...top, ...listSections(lines, LIMITS.blocksPerMessage - fixed.length, 'older backups', LIMITS.blockTextBudget - blockTextLength(fixed)), legend, ...(incompleteNote ? [incompleteNote] : [])],
  };
}
