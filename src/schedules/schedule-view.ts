import type { Config } from '../config/config.js';
import type { ScheduleView } from '../slack/views/schedule-list.js';
import { nextRunTimes, type Schedule } from './schedule.js';

/**
 * A schedule with its next `count` runs, as `schedule list` shows it — in Slack and in the CLI alike. An
 * expression that cannot be evaluated any more shows as never running; it is still listed.
 */
export function scheduleView(schedule: Schedule, deps: { config: Pick<Config, 'clusters'> }, count: number, now = new Date()): ScheduleView {
  let nextRuns: string[] = [];
  try {
    nextRuns = nextRunTimes(schedule.cron, schedule.timezone, now, count).map((d) => d.toISOString());
  } catch {
    // never runs again as far as we can tell
  }
  return {
    id: schedule.id,
    cluster: schedule.cluster,
    clusterDisplayName: deps.config.clusters[schedule.cluster]?.displayName ?? schedule.cluster,
    cron: schedule.cron,
    timezone: schedule.timezone,
    headsUpMinutes: schedule.headsUpMinutes,
    source: schedule.source,
    ...(schedule.createdBy ? { createdBy: schedule.createdBy } : {}),
    ...(schedule.createdAt ? { createdAt: schedule.createdAt.toISOString() } : {}),
    nextRuns,
  };
}
