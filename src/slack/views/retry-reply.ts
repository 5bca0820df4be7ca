import { type SlackMessage, messageText, section } from './block-kit.js';
import { escapeAndTruncate } from './mrkdwn.js';

/**
 * The thread reply when a service a step needs has been failing for a while and is being retried — or answers
 * again after that. Blips are never told (see `createRetryDigest`): this says the run is slow for a reason outside
 * pachbackup, and that it is waiting, not stuck.
 */
export function buildRetryReply(view: { stepTitle: string; message: string; recovered: boolean }): SlackMessage {
  const icon = view.recovered ? '✔️' : '⏳';
  const line = `${icon} *${escapeAndTruncate(view.stepTitle, 150)}* — ${escapeAndTruncate(view.message, 1500)}`;
  return { text: messageText(line.replace(/\*/g, '')), blocks: [section(line)] };
}
