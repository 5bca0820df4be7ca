import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import type { WebClient } from '@slack/web-api';
import { newBackupId } from '../catalog/backup-layout.js';
import type { ClusterConfig, Config } from '../config/config.js';
import { describeError } from '../errors.js';
import type { BackupJobData, ScheduledBackupJobData } from '../jobs/operations-queue.js';
import type { Logger } from '../log.js';
import { ACTIVE_PHASES, isFinal } from '../runner/run-phase.js';
import type { AuditLog } from '../state/audit-log.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';
import { buildHeadsUpWithdrawn } from '../slack/views/heads-up-withdrawn.js';
import { postQueuedBackup } from '../slack/post-queued-backup.js';
import { buildScheduleSkipped, type BusyView } from '../slack/views/schedule-skipped.js';
import type { DowntimeEstimate } from '../estimate/downtime-estimate.js';
import { nextRunTimes, type Schedule } from './schedule.js';
import type { ScheduleJobs } from './schedule-jobs.js';
import type { Schedules } from './schedules.js';

/** What the processors of schedule jobs need, built by the worker's composition root. */
export interface ScheduleJobDeps {
  config: Config;
  runs: RunStore;
  locks: ClusterLocks;
  audit: AuditLog;
  log: Logger;
  schedules: Pick<Schedules, 'get'>;
  jobs: Pick<ScheduleJobs, 'queueHeadsUp' | 'nextRunAt' | 'waitForHeadsUp' | 'runPending' | 'postedHeadsUp'>;
  /** Queues a backup job (job id = run id): the normal worker path then runs it. */
  enqueue(data: BackupJobData): Promise<void>;
  /** Whether a run's backup job is still waiting for (or held by) a worker. */
  hasPendingJob(runId: string): Promise<boolean>;
  /** The downtime estimate of a backup of the cluster now. */
  estimate(cluster: ClusterConfig): Promise<DowntimeEstimate>;
  /** Absent: nothing is posted (the backups still run). */
  slack?: Pick<WebClient, 'chat'>;
  /** Zone of the date tokens' plain-text fallbacks. */
  fallbackZone?: string;
}

/** When a scheduled job was due (epoch ms): BullMQ's `prevMillis`, or the time in its id `repeat:<scheduler>:<ms>`. */
export function scheduledTime(job: Pick<Job, 'id' | 'opts' | 'timestamp'>): number {
  if (typeof job.opts.prevMillis === 'number') return job.opts.prevMillis;
  const fromId = /:(\d+)$/.exec(job.id ?? '');
  if (fromId) return Number(fromId[1]);
  return job.timestamp + (job.opts.delay ?? 0);
}

/**
 * The run id of a schedule's run at `at`: a backup id (`<cluster>-<time>-<4 hex>`) whose time is the scheduled
 * time and whose suffix comes from the schedule, so the same run of the same schedule always gets the same id —
 * a scheduled job picked up again after its worker died finds its run instead of starting a second one.
 */
export function scheduledRunId(cluster: string, scheduleId: string, at: number): string {
  const suffix = createHash('sha256').update(scheduleId).digest('hex').slice(0, 4);
  return newBackupId(cluster, new Date(Math.floor(at / 1000) * 1000), () => suffix);
}

/** Who has the cluster: the lock's holder, or a run accepted and still waiting for a worker. */
async function busyWith(deps: ScheduleJobDeps, cluster: string): Promise<BusyView | undefined> {
  const holder = await deps.locks.holder(cluster);
  if (holder) return { kind: holder.kind, runId: holder.runId, requestedBy: holder.requestedBy, state: 'running' };
  for (const run of await deps.runs.listRuns({ cluster, phases: ACTIVE_PHASES, limit: 10 })) {
    // A queued run whose job is gone (its app died before queueing it) will never run: it does not hold the cluster.
    if (run.phase === 'queued' && !(await deps.hasPendingJob(run.id))) continue;
    return { kind: run.kind, runId: run.id, requestedBy: run.requestedBy, state: run.phase === 'queued' ? 'queued' : 'running' };
  }
  return undefined;
}

export type ScheduledBackupOutcome =
  | { status: 'queued'; runId: string }
  | { status: 'skipped'; busy: BusyView }
  | { status: 'already-queued'; runId: string }
  | { status: 'unknown-schedule' }
  | { status: 'refused'; reason: string };

/** How late a schedule's job may start and still run (a worker was busy or restarting); later ones are missed. */
const LATEST_START_MS = 60 * 60 * 1000;

/** Why `at` is not a time `schedule` runs now: not one of its cron's times, in the future, or too long ago. */
export function timeProblem(schedule: Schedule, at: number, now = Date.now()): string | undefined {
  if (!Number.isFinite(at)) return 'the job says no time';
  if (at > now + 60_000) return `the job is for ${new Date(at).toISOString()}, which has not come yet`;
  if (now - at > LATEST_START_MS) return `the job is for ${new Date(at).toISOString()}, more than an hour ago: a missed run is not made up`;
  const occurrence = nextRunTimes(schedule.cron, schedule.timezone, new Date(at - 1000), 1)[0]?.getTime();
  if (occurrence === undefined || Math.abs(occurrence - at) >= 1000) return `schedule ${schedule.id} (${schedule.cron} in ${schedule.timezone}) does not run at ${new Date(at).toISOString()}`;
  return undefined;
}

/**
 * The processor of `scheduled-backup` jobs — one per run of a schedule, made by its BullMQ job scheduler. It first
 * queues the heads-up of the schedule's next run (so there is always one ahead) and waits until this run's own
 * heads-up is out. Then, if the cluster is busy (its lock is held, or a run is waiting for a worker), the run is
 * skipped: said in the ops channel, audited, its heads-up edited to say there will be no pause, and not made up
 * later. Otherwise it creates the run (requested by `schedule:<id>`), posts its message in the ops channel — the
 * checklist the worker edits — and queues an ordinary backup job, which runs it like any other: thread,
 * announcements, audit.
 */
export function createScheduledBackupProcessor(deps: ScheduleJobDeps) {
  return async (job: Job<ScheduledBackupJobData>): Promise<ScheduledBackupOutcome> => {
    const { scheduleId } = job.data;
    const at = scheduledTime(job);
    const log = deps.log.child({ scheduleId, cluster: job.data.cluster, jobId: job.id });
    const schedule = await deps.schedules.get(scheduleId);
    const cluster = schedule ? deps.config.clusters[schedule.cluster] : undefined;
    if (!schedule || !cluster) {
      log.warn('a job of a schedule that no longer exists; nothing to run');
      return { status: 'unknown-schedule' };
    }
    // Jobs carry ids, not authority: a job that says it is this schedule's run at a time the schedule never fires
    // (or long ago, or ahead) was not made by its job scheduler, and backs nothing up.
    const offSchedule = timeProblem(schedule, at);
    if (offSchedule) {
      log.warn({ at: new Date(at).toISOString() }, `refused a scheduled-backup job: ${offSchedule}`);
      await deps.audit.record({ actor: 'pachbackup', action: 'scheduled-backup', cluster: cluster.name, outcome: 'refused', detail: { reason: offSchedule, scheduleId: schedule.id, job: job.id, scheduledFor: new Date(at).toISOString() } });
      return { status: 'refused', reason: offSchedule };
    }
    await deps.jobs.queueHeadsUp(schedule).catch((err: unknown) => log.warn({ err }, 'could not queue the heads-up of the next run'));

    const runId = scheduledRunId(cluster.name, schedule.id, at);
    const existing = await deps.runs.getRun(runId);
    if (existing) {
      // This job ran before and its worker died: the run exists; make sure its backup job does too.
      if (!isFinal(existing.phase)) await deps.enqueue({ kind: 'backup', runId });
      return { status: 'already-queued', runId };
    }

    // Users hear about the pause before it happens: let this run's heads-up go out first.
    if (schedule.headsUpMinutes > 0) await deps.jobs.waitForHeadsUp(schedule.id, at);

    const busy = await busyWith(deps, cluster.name);
    if (busy) {
      log.info({ busy }, 'cluster busy; scheduled backup skipped');
      await deps.audit.record({
        actor: `schedule:${schedule.id}`,
        action: 'scheduled-backup',
        cluster: cluster.name,
        outcome: 'refused',
        detail: { reason: 'busy', scheduleId: schedule.id, scheduledFor: new Date(at).toISOString(), busyRunId: busy.runId, busyKind: busy.kind, busyRequestedBy: busy.requestedBy },
      });
      const opsChannel = cluster.slack?.opsChannel;
      if (deps.slack && opsChannel) {
        const nextRun = await deps.jobs.nextRunAt(schedule.id).catch(() => undefined);
        const message = buildScheduleSkipped({ schedule: { ...schedule, clusterDisplayName: cluster.displayName }, busy, ...(nextRun ? { nextRun: new Date(nextRun).toISOString() } : {}) });
        await deps.slack.chat.postMessage({ channel: opsChannel, text: message.text, blocks: message.blocks }).catch((err: unknown) => log.warn({ err }, 'could not post the skipped run'));
      }
      // The users were told a pause was coming: tell them it is not.
      const headsUp = deps.slack ? await deps.jobs.postedHeadsUp(schedule.id, at) : undefined;
      if (deps.slack && headsUp) {
        const withdrawn = buildHeadsUpWithdrawn({ clusterDisplayName: cluster.displayName, startsAt: new Date(at).toISOString(), fallbackZone: deps.fallbackZone ?? 'UTC', reason: 'busy' });
        await deps.slack.chat.update({ ...headsUp, text: withdrawn.text, blocks: withdrawn.blocks }).catch((err: unknown) => log.warn({ err }, 'could not withdraw the heads-up'));
      }
      return { status: 'skipped', busy };
    }

    let estimate: DowntimeEstimate | undefined;
    try {
      estimate = await deps.estimate(cluster);
    } catch (err) {
      log.warn({ err }, 'no estimate for the scheduled backup; it runs without one');
    }
    const requestedBy = `schedule:${schedule.id}`;
    const run = await deps.runs.createRun({ id: runId, kind: 'backup', cluster: cluster.name, requestedBy, ...(estimate ? { estimate } : {}) });
    const opsChannel = cluster.slack?.opsChannel;
    if (deps.slack && opsChannel) {
      try {
        await postQueuedBackup(deps.slack, deps.runs, { run, cluster, channel: opsChannel, ...(estimate ? { estimate } : {}) });
      } catch (err) {
        log.warn({ err: describeError(err) }, 'could not post the scheduled run in the ops channel; it runs without its Slack thread');
      }
    }
    await deps.enqueue({ kind: 'backup', runId });
    await deps.audit.record({
      actor: requestedBy,
      action: 'scheduled-backup',
      cluster: cluster.name,
      runId,
      outcome: 'accepted',
      detail: { scheduleId: schedule.id, cron: schedule.cron, timezone: schedule.timezone, scheduledFor: new Date(at).toISOString(), estimatedSeconds: estimate?.expectedSeconds },
    });
    log.info({ runId }, 'scheduled backup queued');
    return { status: 'queued', runId };
  };
}
