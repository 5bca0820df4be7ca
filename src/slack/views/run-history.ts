import { formatDuration } from '../../format-units.js';
import { type SlackMessage, LIMITS, context, header, listSections, messageText, section } from './block-kit.js';
import { compareToEstimate, describeEstimatePrecise, formatErrorPercent } from './downtime-text.js';
import { escapeAndTruncate, escapeMrkdwn, formatRequester, plural, codeSpan } from './mrkdwn.js';
import { PHASE_BADGES } from './run-badges.js';
import { SLACK_DATE_TIME, slackDate } from './time-text.js';
import type { HistoryItemView } from './view-models.js';

/**
 * The `history <cluster>` reply: past runs, newest first, each with its phase, who asked, the downtime that was
 * estimated and the one that happened, the error in percent and whether it fell in the range — and above them how
 * good the estimates have been (median absolute error, how many within range), so people learn how far to trust
 * the next announcement.
 */
export function buildRunHistory(view: { cluster: string; clusterDisplayName: string; runs: HistoryItemView[]; zone?: string }): SlackMessage {
  const { runs } = view;
  const zone = view.zone ?? 'UTC';
  const cluster = { name: view.cluster, displayName: view.clusterDisplayName };
  const name = escapeAndTruncate(cluster.displayName, 200);
  if (runs.length === 0) {
    return {
      text: messageText(escapeMrkdwn(`No runs on ${cluster.displayName} yet.`)),
      blocks: [section(`No runs on *${name}* yet. Start one with ${codeSpan(`/pachbackup backup ${cluster.name}`, 250)}.`)],
    };
  }
  const sorted = [...runs].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || a.id.localeCompare(b.id));
  const lines = sorted.map((r) => {
    const badge = PHASE_BADGES[r.phase];
    const first = `${badge.emoji} ${codeSpan(r.id, 200)} · ${escapeAndTruncate(r.kind, 40)} · ${badge.word.toLowerCase()} · ${slackDate(r.createdAt, SLACK_DATE_TIME, zone)} · by ${formatRequester(r.requestedBy)}`;
    const second = [downtimeVsEstimate(r)];
    if (r.error) second.push(`❌ ${escapeAndTruncate(r.error.replace(/\s+/g, ' '), 300)}`);
    return `${first}\n\u2003\u2003${second.join(' · ')}`;
  });
  const accuracy = estimateAccuracy(sorted);
  return {
    text: messageText(escapeMrkdwn(`${plural(runs.length, 'run')} on ${cluster.displayName}${accuracy ? `; ${accuracy}` : ''}`)),
    blocks: [
      header(`History of ${cluster.displayName}`),
      context(`${plural(runs.length, 'run')}, newest first${accuracy ? ` · estimates: ${accuracy}` : ''}`),
      ...listSections(lines, LIMITS.blocksPerMessage - 2, 'older runs', LIMITS.blockTextBudget),
    ],
  };
}

/** Only a run that got through its downtime says anything about its estimate. */
function completed(r: HistoryItemView): boolean {
  return r.phase === 'succeeded' || r.phase === 'partially-failed';
}

function estimateOf(r: HistoryItemView) {
  return r.estimatedSeconds !== undefined
    ? { expectedSeconds: r.estimatedSeconds, lowSeconds: r.estimateLowSeconds ?? r.estimatedSeconds, highSeconds: r.estimateHighSeconds ?? r.estimatedSeconds }
    : undefined;
}

/** "before it was cancelled", "before it failed", … — how a run that paused and did not complete ended. */
function endedWord(r: HistoryItemView): string {
  if (r.phase === 'cancelled') return 'before it was cancelled';
  if (r.phase === 'failed' || r.phase === 'failed-validation') return 'before it failed';
  return 'so far';
}

function downtimeVsEstimate(r: HistoryItemView): string {
  const estimate = estimateOf(r);
  if (r.pause?.now) return '⏸️ paused now';
  if (r.pause?.stillPaused) return `⚠️ paused, and resuming it failed ${r.phase === 'cancelled' ? 'after it was cancelled' : 'when it stopped'}: left paused`;
  if (r.actualSeconds === undefined) {
    if (r.pause) return `paused${r.pause.approxSeconds !== undefined ? ` about ${formatDuration(r.pause.approxSeconds * 1000)}` : ''} ${endedWord(r)}`;
    return estimate ? `not paused · estimated ${describeEstimatePrecise(estimate)}` : 'not paused';
  }
  const actual = `paused ${formatDuration(r.actualSeconds * 1000)}`;
  if (!completed(r)) return `${actual} ${endedWord(r)}`;
  if (!estimate) return `${actual} · no estimate`;
  const c = compareToEstimate(r.actualSeconds, estimate);
  return `${actual} · estimated ${describeEstimatePrecise(estimate)} · ${c.errorPercent !== null ? `${formatErrorPercent(c.errorPercent)} ` : ''}${c.withinRange ? '✅ in range' : `⚠️ ${c.verdict}`}`;
}

/** "median error 12%, 7 of 8 within range" over the completed runs that have both an estimate and a real downtime. */
function estimateAccuracy(runs: HistoryItemView[]): string | undefined {
  const compared = runs.flatMap((r) => {
    const estimate = estimateOf(r);
    return completed(r) && estimate && r.actualSeconds !== undefined ? [compareToEstimate(r.actualSeconds, estimate)] : [];
  });
  if (compared.length === 0) return undefined;
  const errors = compared.flatMap((c) => (c.errorPercent === null ? [] : [Math.abs(c.errorPercent)])).sort((a, b) => a - b);
  const within = compared.filter((c) => c.withinRange).length;
  const median = errors.length === 0 ? undefined : errors.length % 2 === 1 ? errors[(errors.length - 1) / 2]! : Math.round((errors[errors.length / 2 - 1]! + errors[errors.length / 2]!) / 2);
  return `${median !== undefined ? `median error ${median}%, ` : ''}${within} of ${compared.length} within range`;
}
