import type { KnownBlock } from '@slack/types';
import { formatBytes } from '../../format-units.js';
import type { RestorePlan } from '../../restore/restore-plan.js';
import { ACTION_IDS } from '../slack-ids.js';
import { type SlackMessage, LIMITS, actions, button, context, header, messageText, section } from './block-kit.js';
import { codeSpan, escapeAndTruncate, escapeEntities, escapeMrkdwn, formatCount, formatRequester, joinWithin, plural, truncateText } from './mrkdwn.js';
import { SLACK_DATE_TIME, slackDate } from './time-text.js';

/** How a restore request ended, shown in place of the buttons. */
export interface RestoreDecisionView {
  state: 'approved' | 'rejected' | 'expired' | 'void' | 'refused';
  /** Who decided (a rejection; an approval without `approvals` listed). */
  by?: string;
  at: string;
  reason?: string[];
  /** The run an approval started. */
  runId?: string;
}

/** One approval given to a restore request: who, and when. */
export interface RestoreApprovalView {
  user: string;
  at: string;
}

/** A restore request as its plan message shows it. */
export interface RestorePlanMessageView {
  requestId: string;
  plan: RestorePlan;
  requestedBy: string;
  expiresAt: string;
  /** How many distinct approvers other than the requester must approve (default 1). */
  requiredApprovals?: number;
  /** The approvals given so far, oldest first. */
  approvals?: RestoreApprovalView[];
  /**
   * For a restore of another cluster's backup: how many approvals each cluster's approvers must give and how many
   * are still missing (replaces `requiredApprovals`).
   */
  approvalSets?: { cluster: string; approvals: number; missing: number }[];
  decision?: RestoreDecisionView;
  /** IANA zone of the times' plain-text fallbacks (each reader sees the times in their own zone). Default UTC. */
  fallbackZone?: string;
}

const list = (items: string[], max = 1200) => joinWithin(items.map((i) => `• ${escapeAndTruncate(i, 300)}`), max, '\n');

/**
 * A restore plan in the ops channel, for approval: the backup, the target, what is paused, created, copied and —
 * prominently — overwritten, warnings, refusals, and the helm command; how many approvals it needs and who has
 * approved so far; then Approve / Reject (value: the request id) while it waits, or who decided and when once it
 * is decided. A refused plan lists its refusals once and has no Approve, no helm command and no approval footer
 * (it never waits for anyone); a decided plan keeps the helm command only when approved. Times are Slack date tokens.
 */
export function buildRestorePlanMessage(view: RestorePlanMessageView): SlackMessage {
  const { plan } = view;
  const at = (iso: string) => slackDate(iso, SLACK_DATE_TIME, view.fallbackZone ?? 'UTC');
  const required = view.requiredApprovals ?? 1;
  const approvals = view.approvals ?? [];
  const sets = view.approvalSets;
  const missing = sets ? sets.reduce((n, s) => n + s.missing, 0) : Math.max(required - approvals.length, 0);
  const d = view.decision;
  const refused = plan.refusals.length > 0 || d?.state === 'refused';
  // Only a plan that can still run (or is queued) has a helm command to run after it and approvals to wait for.
  const open = !refused && (!d || d.state === 'approved');
  const blocks: KnownBlock[] = [
    header(`Restore request: ${plan.backup.id} → ${plan.target.cluster}`),
    section(
      `*Backup* ${codeSpan(plan.backup.id, 200)} of ${codeSpan(plan.backup.cluster, 200)} (${at(plan.backup.completedAt)}, Pachyderm ${escapeMrkdwn(plan.backup.pachydermVersion ?? '?')}, ${formatBytes(plan.objects.bytes)} of objects)\n*Into* ${codeSpan(plan.target.cluster, 200)} · requested by ${formatRequester(view.requestedBy)}${plan.inPlace ? '\n🔥 *IN PLACE: the cluster restarts on the restored state*' : ''}`,
    ),
  ];
  if (plan.overwrites.length > 0) blocks.push(section(`🔥 *OVERWRITES — this is replaced and cannot be undone:*\n${list(plan.overwrites)}`));
  blocks.push(section(`*Paused:* ${plan.pause.needed ? `yes — ${escapeAndTruncate(plan.pause.reason, 300)}${plan.pause.workloads.length > 0 ? ` (${escapeAndTruncate(plan.pause.workloads.join(', '), 500)})` : ''}` : `no — ${escapeAndTruncate(plan.pause.reason, 300)}`}`));
  const dbs = plan.databases.map((d) => `${d.source} → ${d.target}${d.replaces ? ' (REPLACES it)' : d.exists ? ' (exists, empty)' : ' (new)'}`);
  blocks.push(section(`*Databases*\n${list(dbs)}`));
  blocks.push(section(`*Objects:* ${plan.objects.mode === 'copy' ? `copy ${formatCount(plan.objects.count)} objects (${formatBytes(plan.objects.bytes)}) into` : 'use in place'} ${codeSpan(`s3://${plan.objects.bucket}/${plan.objects.prefix}`, 300)}${plan.objects.bucketExists ? '' : ' (created)'}`));
  if (plan.creates.length > 0) blocks.push(section(`*Created*\n${list(plan.creates)}`));
  if (plan.warnings.length > 0) blocks.push(section(`⚠️ *Warnings*\n${list(plan.warnings)}`));
  if (plan.refusals.length > 0) blocks.push(section(`❌ *Refused — this plan cannot be approved:*\n${list(plan.refusals)}`));
  if (open) blocks.push(section(`*Then install Pachyderm on it with*\n\`\`\`${truncateText(escapeEntities(plan.helm.command.replace(/`/g, "'")), LIMITS.textChars - 40)}\`\`\``));
  const needs = sets
    ? `needs ${sets.map((s) => `${plural(s.approvals, 'approval')} from ${escapeAndTruncate(s.cluster, 100)}'s approvers`).join(' and ')}, other than the requester`
    : required === 1
      ? 'needs 1 approval from an approver other than the requester'
      : `needs ${required} approvals from approvers other than the requester`;
  const footer = [`Request ${codeSpan(view.requestId, 100)}`, `plan ${escapeMrkdwn(plan.fingerprint.slice(0, 12))}`, ...(!d && !refused ? [`expires ${at(view.expiresAt)}`, needs] : [])];
  blocks.push(context(footer.join(' · ')));
  if (d) {
    const who = d.state === 'approved' && approvals.length > 0 ? ` by ${joinWithin(approvals.map((a) => formatRequester(a.user)), 1000)}` : d.by ? ` by ${formatRequester(d.by)}` : '';
    const line = {
      // Said once and true for good: the run's own message, not this one, follows it from here.
      approved: `✅ *Approved*${who} at ${at(d.at)} — ${d.runId ? `started as run ${codeSpan(d.runId, 120)}; its own message follows it` : 'the restore was started'}`,
      rejected: `🚫 *Rejected*${who} at ${at(d.at)}`,
      expired: `⌛ *Expired* at ${at(d.at)} — ask again with \`/pachbackup restore\``,
      void: `🚫 *Void* at ${at(d.at)}: the plan changed since it was requested — ask again with \`/pachbackup restore\``,
      refused: `❌ *Refused* at ${at(d.at)}: nothing will be restored`,
    }[d.state];
    // The refusals are listed once, above; other reasons (what changed, why it was voided) are listed here.
    const reasons = (d.reason ?? []).filter((r) => !plan.refusals.includes(r));
    blocks.push(section(`${line}${reasons.length > 0 ? `\n${list(reasons)}` : ''}`));
  } else if (!refused) {
    if (approvals.length > 0) {
      const given = joinWithin(approvals.map((a) => `${formatRequester(a.user)} (${at(a.at)})`), 1000);
      const still = sets && sets.length > 1 ? sets.filter((s) => s.missing > 0).map((s) => `${plural(s.missing, 'more approval')} from ${escapeAndTruncate(s.cluster, 100)}'s approvers`).join(' and ') : plural(missing, 'more approval');
      blocks.push(section(`👍 *Approved by* ${given} · *${still} needed*`));
    }
    blocks.push(
      actions(
        button({ actionId: ACTION_IDS.approveRestore, text: 'Approve', value: view.requestId, style: 'primary' }),
        button({ actionId: ACTION_IDS.rejectRestore, text: 'Reject', value: view.requestId, style: 'danger' }),
      ),
    );
  }
  const waiting = approvals.length > 0 ? `waiting for ${plural(missing, 'more approval')}` : 'waiting for approval';
  const state = d ? d.state : plan.refusals.length > 0 ? 'refused' : waiting;
  return { text: messageText(escapeMrkdwn(`Restore request ${view.requestId}: ${plan.backup.id} into ${plan.target.cluster} — ${state}`)), blocks };
}
