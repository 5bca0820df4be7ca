import { formatDuration } from '../../format-units.js';
import { ACTIVE_PHASES, isFinal } from '../../runner/run-phase.js';
import { ACTION_IDS } from '../slack-ids.js';
import { type SlackMessage, LIMITS, actions, blockTextLength, button, confirmDialog, context, divider, header, listSections, messageText, section } from './block-kit.js';
import { compareToEstimate, describeBasis, describeEstimate, describeEstimatePrecise } from './downtime-text.js';
import { escapeAndTruncate, escapeMrkdwn, formatRequester, codeSpan, joinWithin } from './mrkdwn.js';
import { PHASE_BADGES, STEP_ICONS, kindWord, phaseBadge } from './run-badges.js';
import { UNDO_OUTCOMES, describeProgress, describeSizes } from './step-text.js';
import { SLACK_DATE_TIME, SLACK_TIME, addSeconds, slackDate } from './time-text.js';
import type { KnownBlock } from '@slack/types';
import type { RunView, StepView } from './view-models.js';

/** Longest summary and error shown on a checklist line; the full error is in the run's own error section. */
const STEP_DETAIL_CHARS = 300;
/** Date-token fallbacks in the ops channel are in UTC (readers see their own zone through the tokens). */
const ZONE = 'UTC';
/** Indents a step's detail line under its title (em spaces: Slack keeps them). */
const INDENT = '\u2003\u2003';

/**
 * The one ops-channel message of a run, posted when it is queued and edited in place as it goes: a header (kind,
 * cluster), the run id and phase badge, who asked and their note, the downtime so far against the estimate while
 * Pachyderm is paused (the outage users are waiting on), then the checklist — one line per step with its state
 * icon, "⏸ while paused" on downtime steps, duration and sizes, and its summary or error beneath. While the run is
 * active it has a Cancel button (value: the run id); once finished, the button is gone and the error and warnings
 * are shown. Always within Slack's 50 blocks and 3000 characters per text, however many steps or however long the
 * errors.
 */
export function buildRunMessage(run: RunView): SlackMessage {
  const active = ACTIVE_PHASES.includes(run.phase);
  const finished = isFinal(run.phase);

  const top: KnownBlock[] = [header(`${kindWord(run.kind)} · ${run.clusterDisplayName}`), section(introText(run))];
  const downtime = downtimeText(run, active);
  if (downtime) top.push(context(downtime));
  top.push(divider());

  const bottom: KnownBlock[] = [];
  if (finished) {
    const undoFailed = run.steps.filter((s) => s.state === 'undo-failed');
    if (undoFailed.length > 0) {
      bottom.push(
        section(
          `🚨 *Could not undo ${undoFailed.map((s) => escapeMrkdwn(s.title)).join(', ')}* — what ${undoFailed.length === 1 ? 'it' : 'they'} changed is still in place. Check the cluster now.`,
        ),
      );
    }
    // The error in full is in the failed step's reply; here it shares ~12,000 characters with the checklist.
    if (run.error) bottom.push(section(`❌ *Error:* ${escapeAndTruncate(run.error, 1200)}`));
    if (run.warnings.length > 0) bottom.push(section(`⚠️ *Warnings*\n${joinWithin(run.warnings.map((w) => `• ${escapeAndTruncate(w, 400)}`), 1500, '\n')}`));
  }
  if (active) {
    bottom.push(
      actions(
        button({
          actionId: ACTION_IDS.cancelRun,
          text: `Cancel ${run.kind}`,
          value: run.id,
          style: 'danger',
          confirm: confirmDialog({
            title: `Cancel this ${run.kind}?`,
            text:
              run.kind === 'restore'
                ? `The staging databases are dropped and Pachyderm *${escapeAndTruncate(run.clusterDisplayName, 80)}* is resumed if it was paused. Databases already put in place stay restored.`
                : `Steps already done are undone in reverse order and Pachyderm *${escapeAndTruncate(run.clusterDisplayName, 80)}* is resumed if it was paused.`,
            confirm: `Cancel the ${run.kind}`,
            deny: 'Keep going',
            style: 'danger',
          }),
        }),
      ),
    );
  }

  const budget = LIMITS.blocksPerMessage - top.length - bottom.length;
  const chars = LIMITS.blockTextBudget - blockTextLength([...top, ...bottom]);
  // Every step in full when they fit; else every step with its title and detail shortened, before any is left out.
  const full = run.steps.map((s) => stepLine(s, finished));
  const shortened = Math.max(20, Math.min(STEP_DETAIL_CHARS, Math.floor((chars / Math.max(1, run.steps.length) - 80) / 2)));
  const lines = full.reduce((n, l) => n + l.length + 1, 0) <= chars ? full : run.steps.map((s) => stepLine(s, finished, shortened));
  const checklist = run.steps.length > 0 ? listSections(lines, budget, 'more steps', chars) : [section('_No steps yet._')];
  return { text: messageText(fallbackText(run)), blocks: [...top, ...checklist, ...bottom] };
}

function introText(run: RunView): string {
  const times = [`started ${slackDate(run.startedAt, SLACK_DATE_TIME, ZONE)}`];
  if (run.finishedAt) times.push(`finished ${slackDate(run.finishedAt, SLACK_TIME, ZONE)}`);
  const lines = [
    `*${phaseBadge(run.phase)}* · ${codeSpan(run.id, 200)} · cluster ${codeSpan(run.cluster, 200)}`,
    `Requested by ${formatRequester(run.requestedBy)}${run.approvedBy?.length ? ` · approved by ${run.approvedBy.map(formatRequester).join(', ')}` : ''} · ${times.join(' · ')}`,
  ];
  if (run.note) lines.push(`*Note:* ${escapeAndTruncate(run.note.replace(/\s+/g, ' '), 1000)}`);
  return lines.join('\n');
}

/** Whether Pachyderm is paused right now, as far as the run knows. */
function pausedNow(run: RunView, active: boolean): boolean {
  if (!active || run.pausedAt === undefined) return false;
  const downtimeSteps = run.steps.filter((s) => s.downtime);
  const last = downtimeSteps[downtimeSteps.length - 1];
  if (last && (last.state === 'done' || last.state === 'skipped')) return false;
  return !downtimeSteps.some((s) => s.state === 'undone');
}

function downtimeText(run: RunView, active: boolean): string | undefined {
  const estimate = run.estimate;
  if (pausedNow(run, active)) {
    const elapsed = run.downtimeSeconds;
    const so = elapsed !== undefined ? ` — ${formatDuration(elapsed * 1000)} so far` : '';
    const parts = [`⏸️ *Pachyderm is paused* since ${slackDate(run.pausedAt!, SLACK_TIME, ZONE)}${so}`];
    if (estimate) {
      parts.push(`estimated ${describeEstimate(estimate)}, back around ${slackDate(addSeconds(run.pausedAt!, estimate.expectedSeconds), SLACK_TIME, ZONE)}`);
      if (elapsed !== undefined && elapsed > estimate.highSeconds) parts.push('⚠️ *longer than estimated*');
    }
    return parts.join(' · ');
  }
  if (isFinal(run.phase) && run.downtimeSeconds !== undefined) {
    const actual = `Downtime *${formatDuration(run.downtimeSeconds * 1000)}*`;
    // Only a backup that got through its downtime steps says anything about the estimate.
    if (run.phase !== 'succeeded' && run.phase !== 'partially-failed') {
      return run.steps.some((s) => s.state === 'undo-failed') ? actual : `${actual} in all; Pachyderm is running again`;
    }
    if (!estimate) return actual;
    const comparison = compareToEstimate(run.downtimeSeconds, estimate);
    return `${actual} · estimated ${describeEstimatePrecise(estimate)} · ${comparison.withinRange ? '✅' : '⚠️'} ${comparison.verdict}`;
  }
  if (active && estimate) return `Estimated downtime ${describeEstimate(estimate)}, ${describeBasis(estimate)}`;
  return undefined;
}

/** One checklist line (and, beneath it, the step's summary or error). Once the run is over, a waiting step never ran. */
function stepLine(step: StepView, runFinished: boolean, detailChars = STEP_DETAIL_CHARS): string {
  const title = escapeAndTruncate(step.title, Math.min(150, detailChars));
  const neverRan = runFinished && step.state === 'pending';
  const head = [`${neverRan ? '◽' : STEP_ICONS[step.state]} ${step.state === 'running' ? `*${title}*` : title}`];
  if (step.downtime) head.push('⏸ while paused');
  if (step.state === 'running') head.push(step.progress ? `_running_ · ${escapeAndTruncate(describeProgress(step.progress), 300)}` : '_running…_');
  if (neverRan) head.push('not run');
  if (step.state === 'skipped') head.push('skipped (already done)');
  if (step.state === 'undone') head.push('undone');
  if (step.state === 'undo-failed') head.push('*undo failed*');
  if (step.durationMs !== undefined && step.state !== 'pending') head.push(formatDuration(step.durationMs));
  const sizes = describeSizes(step.sizes);
  if (sizes) head.push(sizes);
  // An undone step's own summary ("stopped pachd ×1") no longer holds: say what the undo gave back instead.
  const detail = step.state === 'undone' ? UNDO_OUTCOMES[step.name] : (step.error ?? step.summary);
  const line = head.join(' · ');
  return detail ? `${line}\n${INDENT}${escapeAndTruncate(detail.replace(/\s+/g, ' '), detailChars)}` : line;
}

function fallbackText(run: RunView): string {
  const badge = PHASE_BADGES[run.phase];
  const parts = [`${badge.emoji} ${kindWord(run.kind)} of ${run.clusterDisplayName} (${run.id}): ${badge.word.toLowerCase()}`];
  const current = run.steps.findIndex((s) => s.state === 'running');
  if (current >= 0) parts.push(`now ${run.steps[current]!.title} (${current + 1}/${run.steps.length})`);
  if (pausedNow(run, ACTIVE_PHASES.includes(run.phase))) parts.push(run.downtimeSeconds !== undefined ? `paused ${formatDuration(run.downtimeSeconds * 1000)} so far` : 'paused');
  else if (isFinal(run.phase) && run.downtimeSeconds !== undefined) parts.push(`downtime ${formatDuration(run.downtimeSeconds * 1000)}`);
  if (isFinal(run.phase) && run.error) parts.push(run.error);
  return escapeMrkdwn(parts.join(' — '));
}
