import { formatBytes, formatDuration } from '../../format-units.js';
import type { RunPhase } from '../../runner/run-phase.js';
import { type SlackMessage, LIMITS, fieldsSection, messageText, section } from './block-kit.js';
import { compareToEstimate, describeEstimatePrecise } from './downtime-text.js';
import { escapeAndTruncate, escapeMrkdwn, formatCount, joinWithin, plural, codeSpan } from './mrkdwn.js';
import { PHASE_BADGES } from './run-badges.js';
import type { KnownBlock } from '@slack/types';
import type { BackupSummaryView } from './view-models.js';

const OUTCOMES: Record<RunPhase, string> = {
  queued: 'is queued',
  validating: 'is being checked',
  running: 'is still running',
  succeeded: 'is complete',
  'partially-failed': 'is complete, with problems',
  'failed-validation': 'did not start: a preflight check failed and nothing was changed',
  failed: 'failed: there is no usable backup from this run',
  cancelled: 'was cancelled: there is no usable backup from this run',
};

/**
 * The final reply in a run's thread: the backup id and outcome, the real downtime against the estimate (and
 * whether it fell in the range), the objects and bytes copied (and how many while paused), copy throughput,
 * the databases with their dump sizes, and the verification result; then the error and warnings. Plain facts,
 * no links, no mentions.
 */
export function buildRunSummary(summary: BackupSummaryView): SlackMessage {
  const badge = PHASE_BADGES[summary.phase];
  const id = codeSpan(summary.id, 200);
  const cluster = codeSpan(summary.cluster, 200);
  const fields = [`*Downtime*\n${downtime(summary)}`, `*Objects*\n${objects(summary)}`, `*Throughput*\n${throughput(summary)}`];
  fields.push(
    `*Databases*\n${summary.databases.length > 0 ? joinWithin(summary.databases.map((d) => `${escapeMrkdwn(d.name)} ${formatBytes(d.bytes)}`), 1500, '\n') : 'none dumped'}`,
  );
  fields.push(`*Verified*\n${summary.verified === undefined ? 'not verified' : summary.verified ? '✅ all checks passed' : '❌ verification failed'}`);

  const blocks: KnownBlock[] = [section(`${badge.emoji} *Backup ${id} of ${cluster} ${OUTCOMES[summary.phase]}.*`), fieldsSection(fields)];
  if (summary.error) blocks.push(section(`❌ *Error:* ${escapeAndTruncate(summary.error, LIMITS.textChars - 20)}`));
  if (summary.warnings.length > 0) blocks.push(section(`⚠️ *Warnings*\n${summary.warnings.map((w) => `• ${escapeAndTruncate(w, 600)}`).join('\n')}`));

  const text = [`${badge.emoji} Backup ${summary.id} of ${summary.cluster} ${OUTCOMES[summary.phase]}`];
  if (summary.downtimeSeconds !== null) text.push(`downtime ${formatDuration(summary.downtimeSeconds * 1000)}`);
  if (summary.bytes.copied > 0 || summary.objects.copied > 0) text.push(`${plural(summary.objects.copied, 'object')} (${formatBytes(summary.bytes.copied)}) copied`);
  if (summary.verified !== undefined) text.push(summary.verified ? 'verified' : 'verification failed');
  if (summary.error) text.push(summary.error);
  return { text: messageText(escapeMrkdwn(text.join(' — '))), blocks };
}

function downtime(summary: BackupSummaryView): string {
  if (summary.downtimeSeconds === null) return 'Pachyderm was not paused';
  const actual = formatDuration(summary.downtimeSeconds * 1000);
  // A run that stopped half-way says nothing about the estimate.
  if (!summary.estimate || (summary.phase !== 'succeeded' && summary.phase !== 'partially-failed')) return actual;
  const comparison = compareToEstimate(summary.downtimeSeconds, summary.estimate);
  return `${actual}\nestimated ${describeEstimatePrecise(summary.estimate)}\n${comparison.withinRange ? '✅' : '⚠️'} ${comparison.verdict}`;
}

function objects(summary: BackupSummaryView): string {
  const { total, copied, copiedWhilePaused } = summary.objects;
  if (summary.phase !== 'succeeded' && summary.phase !== 'partially-failed') {
    // Copied objects stay in the shared pool: the next backup does not copy them again.
    return copied === 0 ? 'none copied' : `${formatCount(copied)} copied (${formatBytes(summary.bytes.copied)}) before it stopped; kept for the next backup`;
  }
  const lines = [`${plural(total, 'object')} (${formatBytes(summary.bytes.total)}) in the backup`];
  if (copied === 0) lines.push('none new: all were already in the backup store');
  else {
    lines.push(`${formatCount(copied)} new copied (${formatBytes(summary.bytes.copied)})`);
    lines.push(`${formatCount(copiedWhilePaused)} of them while paused`);
  }
  return lines.join('\n');
}

function throughput(summary: BackupSummaryView): string {
  if (summary.bytes.copied === 0) return 'nothing new to copy';
  if (summary.copySeconds <= 0) return `${formatBytes(summary.bytes.copied)} copied`;
  return `${formatBytes(Math.round(summary.bytes.copied / summary.copySeconds))}/s\n(${formatBytes(summary.bytes.copied)} in ${formatDuration(summary.copySeconds * 1000)})`;
}
