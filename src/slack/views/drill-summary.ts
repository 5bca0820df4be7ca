import type { KnownBlock } from '@slack/types';
import { formatDuration } from '../../format-units.js';
import type { DrillCheck } from '../../drill/drill-steps.js';
import { type SlackMessage, LIMITS, context, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, formatRequester, plural, codeSpan } from './mrkdwn.js';

/** What the drill views show; a subset of `DrillResult` plus who asked. */
export interface DrillSummaryView {
  id: string;
  cluster: string;
  backupId: string | null;
  ok: boolean;
  error?: string;
  checks: DrillCheck[];
  durationMs: number;
}

/**
 * The ops-channel message of a drill: what is drilled, by whom, and its state — `queued` when requested,
 * then edited to the verdict. Drills never touch the cluster, which the message says.
 */
export function buildDrillMessage(drill: { id: string; cluster: string; backupId?: string; requestedBy: string; state: 'queued' | 'passed' | 'failed' }): SlackMessage {
  const id = codeSpan(drill.id, 200);
  const cluster = codeSpan(drill.cluster, 200);
  const backup = drill.backupId ? `backup ${codeSpan(drill.backupId, 200)}` : 'the newest complete backup';
  const state = { queued: '⏳ queued', passed: '✅ passed', failed: '🚨 FAILED' }[drill.state];
  const blocks: KnownBlock[] = [
    section(`🧪 *Restore drill ${id} of ${cluster}* — ${state}\nRestores ${backup} into scratch databases and a scratch prefix, checks every table and object, then removes the scratch.`),
    context(`Requested by ${formatRequester(drill.requestedBy)} · the cluster is not paused or changed · checks follow in the thread`),
  ];
  return { text: messageText(escapeMrkdwn(`Restore drill ${drill.id} of ${drill.cluster}: ${state}`)), blocks };
}

/** One check as a thread reply. */
export function buildDrillCheckReply(check: DrillCheck): SlackMessage {
  const line = `${check.ok ? '✅' : '❌'} *${escapeAndTruncate(check.name, 200)}* — ${escapeAndTruncate(check.detail, 1500)}`;
  return { text: messageText(escapeMrkdwn(`${check.ok ? 'ok' : 'FAILED'}: ${check.name} — ${check.detail}`)), blocks: [section(line)] };
}

/**
 * The last reply of a drill's thread: a quiet pass, or a loud failure naming each failed check (a drill that
 * fails means the backup may not restore — say so plainly).
 */
export function buildDrillSummary(drill: DrillSummaryView): SlackMessage {
  const id = codeSpan(drill.id, 200);
  const cluster = codeSpan(drill.cluster, 200);
  const backup = drill.backupId ? `${codeSpan(drill.backupId, 200)}` : 'no backup';
  const failed = drill.checks.filter((c) => !c.ok);
  const took = formatDuration(drill.durationMs);
  const blocks: KnownBlock[] = [];
  if (drill.ok) {
    blocks.push(section(`✅ *Drill ${id} of ${cluster} passed.* Backup ${backup} restores: ${plural(drill.checks.length, 'check')} passed in ${took}.`));
  } else {
    blocks.push(
      section(
        `🚨 *Drill ${id} of ${cluster} FAILED.* Backup ${backup} may not restore: ${failed.length} of ${plural(drill.checks.length, 'check')} failed (after ${took}).`,
      ),
    );
    if (failed.length > 0) blocks.push(section(`*Failed checks*\n${failed.map((c) => `• ❌ *${escapeAndTruncate(c.name, 200)}* — ${escapeAndTruncate(c.detail, 500)}`).join('\n')}`.slice(0, LIMITS.textChars)));
    if (drill.error) blocks.push(section(`❌ *Error:* ${escapeAndTruncate(drill.error, LIMITS.textChars - 20)}`));
    blocks.push(context('Do not rely on this backup until a drill passes: check the backup store and take a new backup.'));
  }
  const text = drill.ok
    ? `✅ Drill ${drill.id} of ${drill.cluster} passed — ${drill.checks.length} checks`
    : `🚨 Drill ${drill.id} of ${drill.cluster} FAILED — ${failed.map((c) => c.name).join(', ') || drill.error || 'see the thread'}`;
  return { text: messageText(escapeMrkdwn(text)), blocks };
}
