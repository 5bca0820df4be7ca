import { type SlackMessage, context, messageText, section } from './block-kit.js';
import { escapeAndTruncate } from './mrkdwn.js';
import { SLACK_DATE_TIME, slackDate } from './time-text.js';

const REASONS = {
  busy: 'is skipped because the team was already working on it',
  removed: 'is cancelled: its schedule was removed',
} as const;

/**
 * What a heads-up in the users' channel is edited into when its scheduled backup will not run — skipped because
 * the cluster was busy, or its schedule removed: the pause announced for that time will not happen. Written for
 * the cluster's users, like the announcement it replaces; whatever else pauses Pachyderm is announced on its own.
 */
export function buildHeadsUpWithdrawn(view: { clusterDisplayName: string; startsAt: string; fallbackZone: string; reason: keyof typeof REASONS }): SlackMessage {
  const line = `ℹ️ No pause at ${slackDate(view.startsAt, SLACK_DATE_TIME, view.fallbackZone)} after all: the scheduled backup of Pachyderm *${escapeAndTruncate(view.clusterDisplayName, 200)}* ${REASONS[view.reason]}.`;
  return { text: messageText(line), blocks: [section(line), context('Nothing changes for your pipelines and uploads. Any other pause is announced here.')] };
}
