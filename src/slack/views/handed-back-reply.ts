import { type SlackMessage, context, messageText, section } from './block-kit.js';
import { escapeAndTruncate } from './mrkdwn.js';

/**
 * The thread reply when a run was handed back to the queue — the worker running it shut down (or lost its
 * cluster lock) outside the pause: what was in effect is undone, and another worker carries on from the last
 * finished step. Nothing is lost and the cluster is running; the run message goes back to queued.
 */
export function buildHandedBackReply(view: { kind: 'backup' | 'restore' | 'drill'; reason: string }): SlackMessage {
  const line = `↩️ *Handed back to the queue* — ${escapeAndTruncate(view.reason, 300)}. Another worker carries the ${view.kind} on from its last finished step.`;
  return { text: messageText(line.replace(/\*/g, '')), blocks: [section(line), context('Pachyderm is running; nothing this run did is lost.')] };
}
