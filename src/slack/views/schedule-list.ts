import { SLASH_COMMAND } from '../slack-ids.js';
import { type SlackMessage, LIMITS, context, header, listSections, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, formatRequester, plural, codeSpan } from './mrkdwn.js';
import { SLACK_DATE_TIME, slackDate } from './time-text.js';

/** A backup schedule as the schedule views show it (platform-neutral data, as in view-models.ts). */
export interface ScheduleView {
  id: string;
  cluster: string;
  clusterDisplayName: string;
  cron: string;
  /** IANA zone the cron expression is read in; also the zone of the date tokens' plain-text fallback. */
  timezone: string;
  /** Minutes before each run the users are told; 0: no heads-up. */
  headsUpMinutes: number;
  /** `config`: from the config file (changed only there); `slack`: made with `/pachbackup schedule`. */
  source: 'config' | 'slack';
  createdBy?: string;
  createdAt?: string;
  /** The next run times, ISO, soonest first (empty when the expression never fires again). */
  nextRuns: string[];
}

/** How a schedule's run times are shown: with seconds when the cron expression has a seconds field that is not `0`. */
export function runTimeFormat(cron: string): string {
  const fields = cron.trim().split(/\s+/);
  return fields.length === 6 && fields[0] !== '0' ? '{date_short_pretty} at {time_secs}' : SLACK_DATE_TIME;
}

/** `<date token>` of a run time of `schedule`. */
export function formatRunTime(iso: string, schedule: Pick<ScheduleView, 'cron' | 'timezone'>): string {
  return slackDate(iso, runTimeFormat(schedule.cron), schedule.timezone);
}

/** "`0 3 * * *` in Europe/Berlin". */
export function describeSchedule(schedule: Pick<ScheduleView, 'cron' | 'timezone'>): string {
  return `${codeSpan(schedule.cron, 120)} in ${escapeAndTruncate(schedule.timezone, 60)}`;
}

/** "a heads-up 30 min ahead" / "no heads-up". */
export function describeHeadsUp(minutes: number): string {
  if (minutes <= 0) return 'no heads-up';
  if (minutes % 60 === 0) return `heads-up ${minutes / 60} h ahead`;
  return `heads-up ${minutes} min ahead`;
}

/**
 * The `schedule list` reply: every schedule of every cluster, soonest next run first — where it comes from (the
 * config file, or Slack and who made it), its cron expression and zone, the next run as a Slack date token and the
 * users' heads-up. Ids are shown because `schedule remove` takes them. No schedules says how to add one.
 */
export function buildScheduleList(view: { schedules: ScheduleView[] }): SlackMessage {
  const { schedules } = view;
  if (schedules.length === 0) {
    return {
      text: 'No scheduled backups.',
      blocks: [
        section(
          `No scheduled backups. Add one with ${codeSpan(`${SLASH_COMMAND} schedule <cluster> "<cron>" [time zone]`)}, e.g. \`${SLASH_COMMAND} schedule prod "0 3 * * *" Europe/Berlin\`, or under \`clusters.&lt;name&gt;.schedules\` in the config file.`,
        ),
      ],
    };
  }
  const next = (s: ScheduleView) => (s.nextRuns[0] ? Date.parse(s.nextRuns[0]) : Number.POSITIVE_INFINITY);
  const sorted = [...schedules].sort((a, b) => next(a) - next(b) || a.cluster.localeCompare(b.cluster) || a.id.localeCompare(b.id));
  const lines = sorted.map((s) => {
    const origin = s.source === 'config' ? 'config file' : `made in Slack${s.createdBy ? ` by ${formatRequester(s.createdBy)}` : ''}`;
    const when = s.nextRuns[0] ? `next ${formatRunTime(s.nextRuns[0], s)}` : 'never runs again';
    return `🗓️ *${escapeAndTruncate(s.clusterDisplayName, 200)}* (${codeSpan(s.cluster, 63)}) · ${describeSchedule(s)} · ${when}\n\u2003\u2003${codeSpan(s.id, 80)} · ${describeHeadsUp(s.headsUpMinutes)} · ${origin}`;
  });
  const clusters = new Set(schedules.map((s) => s.cluster)).size;
  return {
    text: messageText(escapeMrkdwn(`${plural(schedules.length, 'scheduled backup')} on ${plural(clusters, 'cluster')}`)),
    blocks: [
      header('Scheduled backups'),
      ...listSections(lines, LIMITS.blocksPerMessage - 2, 'more schedules', LIMITS.blockTextBudget),
      context(
        `Soonest first. A run is skipped when its cluster is busy. \`${SLASH_COMMAND} schedule remove &lt;schedule-id&gt;\` removes one made in Slack; the config file's are changed in the file.`,
      ),
    ],
  };
}
