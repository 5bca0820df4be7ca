import { type SlackMessage, context, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, formatRequester, codeSpan } from './mrkdwn.js';
import { describeSchedule, formatRunTime, type ScheduleView } from './schedule-list.js';

/** What kept a scheduled backup from running: the operation that had the cluster. */
export interface BusyView {
  /** `backup`, `restore`, `recovery`... as the cluster lock names it. */
  kind: string;
  runId: string;
  requestedBy: string;
  /** `running`: it holds the cluster lock; `queued`: accepted and waiting for a worker. */
  state: 'running' | 'queued';
}

/**
 * The ops-channel note that a scheduled backup did not run because its cluster was busy: "Scheduled backup of X
 * skipped: backup <run> by <who> is running", with the schedule and its next run. One operation per cluster at a
 * time; a skipped run is not made up later — the next one comes at its time.
 */
export function buildScheduleSkipped(view: { schedule: Pick<ScheduleView, 'id' | 'cluster' | 'clusterDisplayName' | 'cron' | 'timezone'>; busy: BusyView; nextRun?: string }): SlackMessage {
  const { schedule, busy } = view;
  const line = `⏭️ Scheduled backup of *${escapeAndTruncate(schedule.clusterDisplayName, 200)}* skipped: ${escapeAndTruncate(busy.kind, 40)} ${codeSpan(busy.runId, 120)} by ${formatRequester(busy.requestedBy)} is ${busy.state}.`;
  const next = view.nextRun ? `; next run ${formatRunTime(view.nextRun, schedule)}` : '';
  return {
    text: messageText(
      `⏭️ Scheduled backup of ${escapeMrkdwn(schedule.clusterDisplayName)} skipped: ${escapeMrkdwn(busy.kind)} ${escapeMrkdwn(busy.runId)} by ${formatRequester(busy.requestedBy)} is ${busy.state}.`,
    ),
    blocks: [section(line), context(`Schedule ${codeSpan(schedule.id, 80)} (${describeSchedule(schedule)}) of ${codeSpan(schedule.cluster, 63)}${next}.`)],
  };
}
