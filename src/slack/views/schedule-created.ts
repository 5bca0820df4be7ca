import { SLASH_COMMAND } from '../slack-ids.js';
import { type SlackMessage, context, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, codeSpan } from './mrkdwn.js';
import { type ScheduleView, describeSchedule, formatRunTime } from './schedule-list.js';

/** A channel as Slack shows it: a link for a channel id, the name as written otherwise. */
function channelRef(channel: string): string {
  return /^[CG][A-Z0-9]{2,}$/.test(channel) ? `<#${channel}>` : escapeAndTruncate(channel, 80);
}

/**
 * The private answer to `/pachbackup schedule <cluster> "<cron>" [zone]`: the schedule and its id, the next
 * three runs as Slack date tokens (so the operator checks the expression means what they meant, in their own
 * time zone), where and when the users get their heads-up, and how to remove it.
 */
export function buildScheduleCreated(view: ScheduleView & { announceChannel?: string }): SlackMessage {
  const name = escapeAndTruncate(view.clusterDisplayName, 200);
  const line = `✅ Scheduled backups of *${name}* (${codeSpan(view.cluster, 63)}): ${describeSchedule(view)} — schedule ${codeSpan(view.id, 80)}.`;
  const runs = view.nextRuns.length > 0 ? `*Next runs:*\n${view.nextRuns.map((r) => `• ${formatRunTime(r, view)}`).join('\n')}` : '*This expression never fires again.*';
  const headsUp =
    view.headsUpMinutes <= 0
      ? 'No heads-up is posted before its runs.'
      : view.announceChannel
        ? `Users in ${channelRef(view.announceChannel)} get a heads-up ${view.headsUpMinutes} min before each run, with the estimated downtime.`
        : `No heads-up: ${codeSpan(view.cluster, 63)} has no announce channel in the config.`;
  return {
    text: messageText(`${escapeMrkdwn(`Scheduled backups of ${view.clusterDisplayName}:`)} ${codeSpan(view.cron, 120)} ${escapeMrkdwn(`in ${view.timezone} (schedule ${view.id})`)}`),
    blocks: [
      section(`${line}\n${runs}`),
      context(`${headsUp} A run is skipped when the cluster is busy. Remove it with ${codeSpan(`${SLASH_COMMAND} schedule remove ${view.id}`, 120)}.`),
    ],
  };
}
