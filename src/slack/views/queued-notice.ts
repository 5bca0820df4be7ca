import { type SlackMessage, messageText, section } from './block-kit.js';
import { codeSpan, escapeAndTruncate, escapeMrkdwn } from './mrkdwn.js';

/**
 * The private "queued" answer to whoever started a backup or a drill: which run, of which cluster (its display
 * name as typed in the config — escaped, so `Prod <EU> & *Lab*` reads exactly so), and where to follow it.
 */
export function buildQueuedNotice(view: { kind: 'Backup' | 'Drill'; runId: string; clusterDisplayName: string; channel: string }): SlackMessage {
  const channel = /^[CGD][A-Z0-9]{2,}$/.test(view.channel) ? `<#${view.channel}>` : escapeMrkdwn(view.channel);
  const line = `${view.kind} ${codeSpan(view.runId, 120)} of *${escapeAndTruncate(view.clusterDisplayName, 200)}* is queued. Follow it in ${channel}.`;
  return { text: messageText(`${escapeMrkdwn(`${view.kind} ${view.runId} of ${view.clusterDisplayName} is queued.`)} Follow it in ${channel}.`), blocks: [section(line)] };
}
