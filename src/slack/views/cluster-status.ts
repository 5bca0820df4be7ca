import { formatDuration } from '../../format-units.js';
import type { KnownBlock } from '@slack/types';
import { type SlackMessage, LIMITS, context, divider, fieldsSection, fitBlocks, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, formatCount, formatRequester, joinWithin, plural, codeSpan } from './mrkdwn.js';
import { kindWord, phaseBadge } from './run-badges.js';
import { SLACK_DATE_TIME, formatAge, slackDate } from './time-text.js';
import type { ClusterStatusView } from './view-models.js';

const ZONE = 'UTC';

/**
 * The `status [cluster]` reply: for each cluster, whether Pachyderm is up, paused or unreachable; pachd's ready
 * replicas and image; the pipeline workers; the Kubernetes context and namespace; the operation running now;
 * and the last good backup with its age (against the view's `now`, so renders are reproducible).
 */
export function buildClusterStatus(clusters: ClusterStatusView[]): SlackMessage {
  if (clusters.length === 0) {
    return { text: 'No clusters are configured.', blocks: [section('No clusters are configured. Add one under `clusters:` in the pachbackup config.')] };
  }
  const blocks = clusters.flatMap((c, i) => [...(i > 0 ? [divider()] : []), ...clusterStatusBlocks(c)]);
  return {
    text: messageText(escapeMrkdwn(clusters.map((c) => `${c.displayName}: ${clusterStateWord(c)}`).join('; '))),
    blocks: fitBlocks(blocks, LIMITS.blocksPerMessage, (n) => `…${n} more blocks not shown: ask for one cluster with \`/pachbackup status &lt;cluster&gt;\`.`),
  };
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
  if (view.error) notes.push(`⚠️ ${escapeAndTruncate(view.error, 1500)}`);
  return [fieldsSection(fields, title), context(...notes)];
}

/** "🟢 Up", "⏸️ Paused", "🟡 Starting", "⚠️ Unreachable", "❓ pachd not found". */
export function clusterStateBadge(view: ClusterStatusView): string {
  const word = clusterStateWord(view);
  const emoji: Record<string, string> = { up: '🟢', paused: '⏸️', starting: '🟡', unreachable: '⚠️', 'pachd not found': '❓' };
  return `${emoji[word] ?? '❓'} ${word[0]!.toUpperCase()}${word.slice(1)}`;
}

function clusterStateWord(view: ClusterStatusView): 'up' | 'paused' | 'starting' | 'unreachable' | 'pachd not found' {
  if (!view.reachable) return 'unreachable';
  if (view.paused) return 'paused';
  if (!view.pachd) return 'pachd not found';
  if (view.pachd.replicas === 0 || view.pachd.ready < view.pachd.replicas) return 'starting';
  return 'up';
}

function describePachd(view: ClusterStatusView): string {
  if (!view.reachable) return 'unknown';
  if (!view.pachd) return 'not found';
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

/** "🔄 Backup `id` by @alice since <date> · Running", or "Nothing running." */
export function describeRunning(view: Pick<ClusterStatusView, 'running' | 'now'>): string {
  const running = view.running;
  if (!running) return 'Nothing running.';
  const phase = running.phase ? ` · ${phaseBadge(running.phase)}` : '';
  return `🔄 ${escapeMrkdwn(kindWord(running.kind))} ${codeSpan(running.runId, 200)} by ${formatRequester(running.requestedBy)} since ${slackDate(running.since, SLACK_DATE_TIME, ZONE)} (${formatAge(running.since, view.now)})${phase}`;
}
