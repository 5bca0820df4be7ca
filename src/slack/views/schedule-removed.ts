import { type SlackMessage, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, codeSpan } from './mrkdwn.js';
import { type ScheduleView, describeSchedule } from './schedule-list.js';

/** The private answer to `schedule remove <id>`: which schedule went, and that no more backups run from it. */
export function buildScheduleRemoved(view: Pick<ScheduleView, 'id' | 'cluster' | 'clusterDisplayName' | 'cron' | 'timezone'>): SlackMessage {
  return {
    text: messageText(escapeMrkdwn(`Removed schedule ${view.id} of ${view.clusterDisplayName}: no more backups run from it.`)),
    blocks: [
      section(
        `🗑️ Removed schedule ${codeSpan(view.id, 80)} of *${escapeAndTruncate(view.clusterDisplayName, 200)}* (${codeSpan(view.cluster, 63)}, ${describeSchedule(view)}): no more backups run from it.`,
      ),
    ],
  };
}
