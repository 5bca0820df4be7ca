import type { KnownBlock } from '@slack/types';
import { formatBytes } from '../../format-units.js';
import type { RestorePlan } from '../../restore/restore-plan.js';
import { ACTION_IDS } from '../slack-ids.js';
import { type SlackMessage, LIMITS, actions, button, context, header, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, formatCount, formatRequester, joinWithin } from './mrkdwn.js';

/** How a restore request ended, shown in place of the buttons. */
export interface RestoreDecisionView {
  state: 'approved' | 'rejected' | 'expired' | 'void' | 'refused';
  by?: string;
  at: string;
  reason?: string[];
}

const list = (items: string[], max = 1200) => joinWithin(items.map((i) => `• ${escapeAndTruncate(i, 300)}`), max, '\n');

/**
 * A restore plan in the ops channel, for approval: the backup, the target, what is paused, created, copied and —
 * prominently — overwritten, warnings, refusals, and the helm command; then Approve / Reject (value: the request
 * id) while it waits, or who decided and when once it is decided. A plan with refusals gets no Approve.
 */
export function buildRestorePlanMessage(options: { requestId: string; plan: RestorePlan; requestedBy: string; expiresAt: string; decision?: RestoreDecisionView }): SlackMessage {
  const { plan } = options;
  const backup = escapeAndTruncate(plan.backup.id, 200);
  const target = escapeAndTruncate(plan.target.cluster, 200);
  const blocks: KnownBlock[] = [
    header(`Restore request: ${plan.backup.id} → ${plan.target.cluster}`),
    section(
      `*Backup* \`${backup}\` of \`${escapeAndTruncate(plan.backup.cluster, 200)}\` (${escapeMrkdwn(plan.backup.completedAt)}, Pachyderm ${escapeMrkdwn(plan.backup.pachydermVersion ?? '?')}, ${formatBytes(plan.objects.bytes)} of objects)\n*Into* \`${target}\` · requested by ${formatRequester(options.requestedBy)}${plan.inPlace ? '\n🔥 *IN PLACE: the cluster restarts on the restored state*' : ''}`,
    ),
  ];
  if (plan.overwrites.length > 0) blocks.push(section(`🔥 *OVERWRITES — this is replaced and cannot be undone:*\n${list(plan.overwrites)}`));
  blocks.push(section(`*Paused:* ${plan.pause.needed ? `yes — ${escapeAndTruncate(plan.pause.reason, 300)}${plan.pause.workloads.length > 0 ? ` (${escapeAndTruncate(plan.pause.workloads.join(', '), 500)})` : ''}` : `no — ${escapeAndTruncate(plan.pause.reason, 300)}`}`));
  const dbs = plan.databases.map((d) => `${d.source} → ${d.target}${d.replaces ? ' (REPLACES it)' : d.exists ? ' (exists, empty)' : ' (new)'}`);
  blocks.push(section(`*Databases*\n${list(dbs)}`));
  blocks.push(section(`*Objects:* ${plan.objects.mode === 'copy' ? `copy ${formatCount(plan.objects.count)} objects (${formatBytes(plan.objects.bytes)}) into` : 'use in place'} \`s3://${escapeAndTruncate(`${plan.objects.bucket}/${plan.objects.prefix}`, 300)}\`${plan.objects.bucketExists ? '' : ' (created)'}`));
  if (plan.creates.length > 0) blocks.push(section(`*Created*\n${list(plan.creates)}`));
  if (plan.warnings.length > 0) blocks.push(section(`⚠️ *Warnings*\n${list(plan.warnings)}`));
  if (plan.refusals.length > 0) blocks.push(section(`❌ *Refused — this plan cannot be approved:*\n${list(plan.refusals)}`));
  blocks.push(section(`*Then install Pachyderm on it with*\n\`\`\`${escapeAndTruncate(plan.helm.command, LIMITS.textChars - 20)}\`\`\``));
  blocks.push(context(`Request \`${escapeAndTruncate(options.requestId, 100)}\` · plan ${escapeMrkdwn(plan.fingerprint.slice(0, 12))} · expires ${escapeMrkdwn(options.expiresAt)} · an approver other than the requester must approve`));
  const d = options.decision;
  if (d) {
    const who = d.by ? ` by ${formatRequester(d.by)}` : '';
    const line = {
      approved: `✅ *Approved*${who} at ${escapeMrkdwn(d.at)} — the restore is queued`,
      rejected: `🚫 *Rejected*${who} at ${escapeMrkdwn(d.at)}`,
      expired: `⌛ *Expired* at ${escapeMrkdwn(d.at)} — ask again with /pachbackup restore`,
      void: `🚫 *Void* at ${escapeMrkdwn(d.at)}: the plan changed since it was requested — ask again with /pachbackup restore`,
      refused: `❌ *Refused* at ${escapeMrkdwn(d.at)}: nothing will be restored`,
    }[d.state];
    blocks.push(section(`${line}${d.reason && d.reason.length > 0 ? `\n${list(d.reason)}` : ''}`));
  } else if (plan.refusals.length === 0) {
    blocks.push(
      actions(
        button({ actionId: ACTION_IDS.approveRestore, text: 'Approve', value: options.requestId, style: 'primary' }),
        button({ actionId: ACTION_IDS.rejectRestore, text: 'Reject', value: options.requestId, style: 'danger' }),
      ),
    );
  }
  const state = d ? d.state : plan.refusals.length > 0 ? 'refused' : 'waiting for approval';
  return { text: messageText(escapeMrkdwn(`Restore request ${options.requestId}: ${plan.backup.id} into ${plan.target.cluster} — ${state}`)), blocks };
}
