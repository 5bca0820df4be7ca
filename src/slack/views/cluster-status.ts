import { formatDuration } from '../../format-units.js';
import type { KnownBlock } from '@slack/types';
import { isFinal } from '../../runner/run-phase.js';
import { type SlackMessage, LIMITS, blockTextLength, context, divider, fieldsSection, listSections, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, formatCount, formatRequester, joinWithin, plural, codeSpan } from './mrkdwn.js';
import { kindWord, phaseBadge } from './run-badges.js';
import { SLACK_DATE_TIME, SLACK_TIME, formatAge, slackDate } from './time-text.js';
import type { ClusterStatusView } from './view-models.js';

const ZONE = 'UTC';

/**
 * The `status [cluster]` reply: for each cluster, whether Pachyderm is up, paused, unreachable or missing a
 * Deployment; pachd's ready replicas and image; the pipeline workers; the Kubernetes context and namespace; the
 * operation running now; and the last good backup with its age (against the view's `now`, so renders are
 * reproducible). Too many clusters for that detail in one message (50 blocks, about 12,000 characters) are
 * summed up one line each, those needing attention first — never cut in the middle of a cluster.
 */
export function buildClusterStatus(clusters: ClusterStatusView[]): SlackMessage {
  if (clusters.length === 0) {
    return { text: 'No clusters are configured.', blocks: [section('No clusters are configured. Add one under `clusters:` in the pachbackup config.')] };
  }
  return {
    text: messageText(escapeMrkdwn(clusters.map((c) => `${c.displayName}: ${clusterStateWord(c)}`).join('; '))),
    blocks: clusterOverviewBlocks(clusters, { maxBlocks: LIMITS.blocksPerMessage, maxChars: LIMITS.blockTextBudget }),
  };
}

/**
 * Every cluster in full (state line, facts, what is running), divided; or, when that would not fit `maxBlocks`
 * blocks and `maxChars` characters of text, a count of clusters by state and one line per cluster — the ones that
 * are unreachable, missing a Deployment, paused, starting or without a recent backup first — pointing to
 * `status <cluster>` for the details. Used by `status` and App Home.
 */
export function clusterOverviewBlocks(clusters: ClusterStatusView[], budget: { maxBlocks: number; maxChars: number; dividerFirst?: boolean }): KnownBlock[] {
  const detailed = clusters.flatMap((c, i) => [...(i > 0 || budget.dividerFirst ? [divider()] : []), ...clusterStatusBlocks(c)]);
  if (detailed.length <= budget.maxBlocks && blockTextLength(detailed) <= budget.maxChars) return detailed;
  const counts = new Map<string, number>();
  for (const c of clusters) counts.set(clusterStateBadge(c), (counts.get(clusterStateBadge(c)) ?? 0) + 1);
  const summary = `*${plural(clusters.length, 'cluster')}* · ${[...counts].map(([badge, n]) => `${badge} ${formatCount(n)}`).join(' · ')}`;
  const footer = context(`One line per cluster, those needing attention first; \`/pachbackup status &lt;cluster&gt;\` shows one in full.`);
  const ordered = clusters.map((c, i) => ({ c, i })).sort((a, b) => attention(a.c) - attention(b.c) || a.i - b.i);
  const lines = ordered.map(({ c }) => clusterSummaryLine(c));
  const room = budget.maxChars - summary.length - blockTextLength([footer]);
  return [...(budget.dividerFirst ? [divider()] : []), section(summary), ...listSections(lines, budget.maxBlocks - 3, 'more clusters', room), footer];
}

/** Lower first: what needs someone's attention before what is fine. */
function attention(view: ClusterStatusView): number {
  const order = { unreachable: 0, 'deployment missing': 1, paused: 2, starting: 3, up: 5 } as const;
  const word = clusterStateWord(view);
  return word === 'up' && !view.lastGoodBackup ? 4 : order[word];
}

/** "🟢 Up · *Production* (`prod`) · last good backup 3 h ago · nothing running" — a cluster in one line. */
export function clusterSummaryLine(view: ClusterStatusView): string {
  const last = view.lastGoodBackup ? `last good backup ${formatAge(view.lastGoodBackup.completedAt, view.now)}` : '⚠️ no good backup yet';
  const running = view.running
    ? view.running.phase && isFinal(view.running.phase)
      ? `${phaseBadge(view.running.phase)}: ${escapeMrkdwn(view.running.kind)} just finished`
      : `🔄 ${escapeMrkdwn(view.running.kind)} running since ${slackDate(view.running.since, SLACK_TIME, ZONE)}`
    : 'nothing running';
  return `${clusterStateBadge(view)} · *${escapeAndTruncate(view.displayName, 100)}* (${codeSpan(view.name, 100)}) · ${last} · ${running}`;
}

/** One cluster's status as blocks: the state line with facts as fields, then what is running and any error. Used by `status` and App Home. */
export function clusterStatusBlocks(view: ClusterStatusView): KnownBlock[] {
  const title = `*${escapeAndTruncate(view.displayName, 200)}* (${codeSpan(view.name, 200)}) · ${clusterStateBadge(view)}`;
  const fields = [
    `*pachd*\n${describePachd(view)}`,
    `*Pipeline workers*\n${describeWorkers(view)}`,
    `*Kubernetes*\ncontext ${codeSpan(view.context, 300)}\nnamespace ${codeSpan(view.namespace, 300)}`,
    `*Last good backup*\n${describeLastBackup(view)}`,
  ];
  const notes = [describeRunning(view)];
  if (view.missing) notes.push(`❓ ${escapeAndTruncate(view.missing, 1500)}`);
  if (view.error) notes.push(`⚠️ ${escapeAndTruncate(view.error, 1500)}`);
  return [fieldsSection(fields, title), context(...notes)];
}

/** "🟢 Up", "⏸️ Paused", "🟡 Starting", "⚠️ Unreachable", "❓ Deployment missing". */
export function clusterStateBadge(view: ClusterStatusView): string {
  const word = clusterStateWord(view);
  const emoji: Record<string, string> = { up: '🟢', paused: '⏸️', starting: '🟡', unreachable: '⚠️', 'deployment missing': '❓' };
  return `${emoji[word] ?? '❓'} ${word[0]!.toUpperCase()}${word.slice(1)}`;
}

function clusterStateWord(view: ClusterStatusView): 'up' | 'paused' | 'starting' | 'unreachable' | 'deployment missing' {
  if (!view.reachable) return 'unreachable';
  // Kubernetes answered, but a Deployment pachbackup pauses (pachd's or one in pachyderm.quiesce) is not there.
  if (view.missing || !view.pachd) return 'deployment missing';
  if (view.paused) return 'paused';
  if (view.pachd.replicas === 0 || view.pachd.ready < view.pachd.replicas) return 'starting';
  return 'up';
}

function describePachd(view: ClusterStatusView): string {
  if (!view.reachable) return 'unknown';
  if (!view.pachd) return 'not read: a Deployment is missing (below)';
  const image = view.pachd.image ? `\n${codeSpan(view.pachd.image, 300)}` : '';
  return `${formatCount(view.pachd.ready)}/${formatCount(view.pachd.replicas)} ready${image}`;
}

function describeWorkers(view: ClusterStatusView): string {
  if (!view.reachable) return 'unknown';
  if (view.workers.length === 0) return 'none running';
  const replicas = view.workers.reduce((n, w) => n + w.replicas, 0);
  const ready = view.workers.reduce((n, w) => n + w.ready, 0);
  const lines = [`${plural(view.workers.length, 'pipeline')} · ${formatCount(ready)}/${formatCount(replicas)} pods ready`];
  const notReady = view.workers.filter((w) => w.ready < w.replicas).map((w) => `${codeSpan(w.name)} ${w.ready}/${w.replicas}`);
  if (notReady.length > 0) lines.push(`not ready: ${joinWithin(notReady, 1200)}`);
  return lines.join('\n');
}

/** "`id` · 3 h ago (date) · downtime 3 min 12 s", or "none yet". */
export function describeLastBackup(view: Pick<ClusterStatusView, 'lastGoodBackup' | 'now'>): string {
  const last = view.lastGoodBackup;
  if (!last) return '⚠️ none yet';
  return `${codeSpan(last.id, 200)}\n${formatAge(last.completedAt, view.now)} (${slackDate(last.completedAt, SLACK_DATE_TIME, ZONE)})\ndowntime ${formatDuration(last.downtimeSeconds * 1000)}`;
}

/**
 * "🔄 Backup `id` by @alice since <date> (2 min ago) · 🔄 Running", "Nothing running.", or — for a run that has
 * finished but not yet let go of the cluster — "✅ Succeeded: backup `id` by @alice has just finished."
 */
export function describeRunning(view: Pick<ClusterStatusView, 'running' | 'now'>): string {
  const running = view.running;
  if (!running) return 'Nothing running.';
  if (running.phase && isFinal(running.phase)) {
    return `${phaseBadge(running.phase)}: ${escapeMrkdwn(running.kind)} ${codeSpan(running.runId, 200)} by ${formatRequester(running.requestedBy)} has just finished; nothing else running.`;
  }
  const phase = running.phase ? ` · ${phaseBadge(running.phase)}` : '';
  return `🔄 ${escapeMrkdwn(kindWord(running.kind))} ${codeSpan(running.runId, 200)} by ${formatRequester(running.requestedBy)} since ${slackDate(running.since, SLACK_DATE_TIME, ZONE)} (${formatAge(running.since, view.now)})${phase}`;
}
