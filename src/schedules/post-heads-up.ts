import type { Job } from 'bullmq';
import type { HeadsUpJobData } from '../jobs/operations-queue.js';
import { buildAnnouncement } from '../slack/views/announcement.js';
import type { ScheduleJobDeps } from './run-scheduled-backup.js';

export type HeadsUpOutcome =
  | { status: 'posted'; channel: string; ts: string }
  | { status: 'unknown-schedule' | 'too-late' | 'no-channel' | 'no-estimate' };

/**
 * The processor of `heads-up` jobs: tells the cluster's users (its announce channel) that Pachyderm will pause
 * for a scheduled backup at the run's time, for about how long and until when — the `upcoming` state of the
 * announcement, with the estimate of a backup made now and every time a Slack date token. A heads-up is dropped
 * when its schedule is gone, or when its run time has passed and the run is no longer pending (it ran, or was
 * dropped while no worker was up): telling people about a pause in the past helps no one. A run that is due but
 * still pending waits for its heads-up (see run-scheduled-backup.ts), so a late heads-up still comes first.
 */
export function createHeadsUpProcessor(deps: Pick<ScheduleJobDeps, 'config' | 'schedules' | 'jobs' | 'estimate' | 'slack' | 'log' | 'fallbackZone'>) {
  return async (job: Job<HeadsUpJobData>): Promise<HeadsUpOutcome> => {
    const { scheduleId, runAt } = job.data;
    const log = deps.log.child({ scheduleId, cluster: job.data.cluster, jobId: job.id });
    const schedule = await deps.schedules.get(scheduleId);
    const cluster = schedule ? deps.config.clusters[schedule.cluster] : undefined;
    if (!schedule || !cluster || schedule.headsUpMinutes <= 0) return { status: 'unknown-schedule' };
    if (Date.now() >= runAt && !(await deps.jobs.runPending(scheduleId, runAt))) {
      log.info({ runAt: new Date(runAt).toISOString() }, 'the run has already happened; no heads-up');
      return { status: 'too-late' };
    }
    const channel = cluster.slack?.announceChannel;
    if (!channel || !deps.slack) return { status: 'no-channel' };
    let estimate;
    try {
      estimate = await deps.estimate(cluster);
    } catch (err) {
      log.warn({ err }, 'no estimate, so no heads-up for the scheduled backup');
      return { status: 'no-estimate' };
    }
    const message = buildAnnouncement({
      cluster: cluster.name,
      clusterDisplayName: cluster.displayName,
      state: 'upcoming',
      startsAt: new Date(runAt).toISOString(),
      estimate,
      fallbackZone: deps.fallbackZone ?? 'UTC',
    });
    const posted = await deps.slack.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
    log.info({ runAt: new Date(runAt).toISOString() }, 'heads-up posted');
    return { status: 'posted', channel: posted.channel ?? channel, ts: posted.ts ?? '' };
  };
}
