import { SLASH_COMMAND } from '../slack-ids.js';
import { type SlackMessage, LIMITS, blockTextLength, context, fieldsSection, listSections, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, codeSpan, joinWithin, plural } from './mrkdwn.js';
import { SLACK_DATE_TIME, slackDate } from './time-text.js';

/** A cluster whose last good backup is too old (or that has none), as the ops-channel alert shows it. */
export interface StaleBackupAlertView {
  cluster: string;
  displayName: string;
  /** The last backup that succeeded (or partially failed, still usable); absent when there has never been one. */
  lastGoodBackup?: { id: string; completedAt: string };
  /** How old the last good backup may get before this alert. */
  thresholdSeconds: number;
  /** Now, ISO: the age is computed against it so renders are reproducible. */
  now: string;
  /** Zone of the date tokens' plain-text fallback; default UTC. */
  fallbackZone?: string;
}

/** The all-clear of a stale-backup alert: a good backup finished. */
export interface StaleBackupResolvedView {
  cluster: string;
  displayName: string;
  backup: { id: string; completedAt: string };
  fallbackZone?: string;
}

/**
 * A length of time in the largest units that matter for backup ages: "45 min", "3 h 20 min", "26 h", "3 days 4 h", "12 days".
 * Whole minutes, rounded down, so an age is never shown larger than it is.
 */
export function formatAgeSpan(seconds: number): string {
  const minutes = Math.max(0, Math.floor(seconds / 60));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 || hours >= 10 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return days >= 10 || hours % 24 === 0 ? `${days} days` : `${days} days ${hours % 24} h`;
}

/**
 * The ops-channel alert for a cluster without a recent good backup: how long it has been, against how often
 * backups are expected, the last good one (id and time, as a Slack date token so each reader sees local time),
 * and what to do next. Posted once per staleness episode (and repeated while it lasts) by the stale-backup
 * alerter; cluster names and ids are escaped.
 */
export function buildStaleBackupAlert(view: StaleBackupAlertView): SlackMessage {
  const zone = view.fallbackZone ?? 'UTC';
  const name = escapeAndTruncate(view.displayName, 200);
  const id = codeSpan(view.cluster, 200);
  const expected = `at least every ${formatAgeSpan(view.thresholdSeconds)}`;
  const last = view.lastGoodBackup;
  let line: string;
  let lastField: string;
  if (last) {
    const age = formatAgeSpan((Date.parse(view.now) - Date.parse(last.completedAt)) / 1000);
    const when = slackDate(last.completedAt, SLACK_DATE_TIME, zone);
    line = `⚠️ No good backup of *${name}* (${id}) for *${age}*: the last one finished ${when}. Backups are expected ${expected}.`;
    lastField = `*Last good backup*\n${codeSpan(last.id, 200)}\n${when} (${age} ago)`;
  } else {
    line = `⚠️ *${name}* (${id}) has *no good backup* on record. Backups are expected ${expected}.`;
    lastField = '*Last good backup*\nnone on record';
  }
  return {
    text: messageText(line),
    blocks: [
      section(line),
      fieldsSection([lastField, `*Expected*\n${expected}`]),
      context(
        `See what went wrong with ${codeSpan(`${SLASH_COMMAND} history ${view.cluster}`, 250)}, or start one with ${codeSpan(`${SLASH_COMMAND} backup ${view.cluster}`, 250)}. ` +
          'This alert is repeated while it lasts, and resolved here when a backup succeeds.',
      ),
    ],
  };
}

/**
 * One ops-channel message for several clusters found without a recent good backup at once (a worker starting with
 * many stale clusters): how many, then one line each — name, how long, the last good one — newest problem last,
 * within one message's limits ("…and N more clusters" past them), and what to do. Resolved in its thread as each
 * cluster gets a good backup again.
 */
export function buildStaleBackupSummary(views: StaleBackupAlertView[]): SlackMessage {
  const zone = views[0]?.fallbackZone ?? 'UTC';
  const line = (v: StaleBackupAlertView) => {
    const who = `*${escapeAndTruncate(v.displayName, 100)}* (${codeSpan(v.cluster, 100)})`;
    const expected = `expected every ${formatAgeSpan(v.thresholdSeconds)}`;
    if (!v.lastGoodBackup) return `• ${who}: no good backup on record; ${expected}`;
    const age = formatAgeSpan((Date.parse(v.now) - Date.parse(v.lastGoodBackup.completedAt)) / 1000);
    return `• ${who}: none for *${age}*, the last ${codeSpan(v.lastGoodBackup.id, 100)} finished ${slackDate(v.lastGoodBackup.completedAt, SLACK_DATE_TIME, zone)}; ${expected}`;
  };
  const headline = `⚠️ *${plural(views.length, 'cluster')}* have no recent good backup.`;
  const footer = context(
    `See what went wrong with ${codeSpan(`${SLASH_COMMAND} history <cluster>`, 250)}, or start one with ${codeSpan(`${SLASH_COMMAND} backup <cluster>`, 250)}. ` +
      'Each cluster is resolved in this thread when a backup of it succeeds, and alerted again while it lasts.',
  );
  const lines = views.map(line);
  const room = LIMITS.blockTextBudget - headline.length - blockTextLength([footer]);
  return {
    text: messageText(`⚠️ ${plural(views.length, 'cluster')} have no recent good backup: ${escapeMrkdwn(joinWithin(views.map((v) => v.displayName), 2000))}.`),
    blocks: [section(headline), ...listSections(lines, LIMITS.blocksPerMessage - 2, 'more clusters', room), footer],
  };
}

/** The reply in an alert's thread when good backups finished: the cluster (or each of several) is covered again. */
export function buildStaleBackupResolved(view: StaleBackupResolvedView | StaleBackupResolvedView[]): SlackMessage {
  const views = Array.isArray(view) ? view : [view];
  const one = (v: StaleBackupResolvedView) =>
    `*${escapeAndTruncate(v.displayName, 200)}* (${codeSpan(v.cluster, 200)}) has a good backup again, ${codeSpan(v.backup.id, 200)}, finished ${slackDate(v.backup.completedAt, SLACK_DATE_TIME, v.fallbackZone ?? 'UTC')}.`;
  if (views.length === 1) {
    const line = `✅ Resolved: ${one(views[0]!)}`;
    return { text: messageText(line), blocks: [section(line)] };
  }
  const headline = `✅ Resolved for ${plural(views.length, 'cluster')}:`;
  return {
    text: messageText(`${headline} ${escapeMrkdwn(joinWithin(views.map((v) => v.displayName), 2000))}.`),
    blocks: [section(headline), ...listSections(views.map((v) => `• ${one(v)}`), LIMITS.blocksPerMessage - 1, 'more clusters', LIMITS.blockTextBudget)],
  };
}
