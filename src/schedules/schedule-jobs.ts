import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { HeadsUpJobData, OperationJobData, ScheduledBackupJobData } from '../jobs/operations-queue.js';
import type { Schedule } from './schedule.js';

/** The job name of a schedule's runs (made by its BullMQ job scheduler). */
export const SCHEDULED_BACKUP_JOB = 'scheduled-backup';
/** The job name of a heads-up before a scheduled run. */
export const HEADS_UP_JOB = 'heads-up';

/** The job BullMQ's job scheduler makes for the run at `runAt` (BullMQ's naming: `repeat:<scheduler id>:<ms>`). */
export function scheduledRunJobId(scheduleId: string, runAt: number): string {
  return `repeat:${scheduleId}:${runAt}`;
}

/** The heads-up job of the run at `runAt`: one per run however often it is queued (restarts, several workers). */
export function headsUpJobId(scheduleId: string, runAt: number): string {
  return `headsup:${scheduleId}:${runAt}`;
}

const KEEP = { removeOnComplete: { age: 7 * 24 * 3600, count: 1000 }, removeOnFail: { age: 30 * 24 * 3600 } } as const;

/**
 * Schedules as BullMQ job schedulers on the operations queue: one scheduler per schedule, its id the schedule's
 * id, making a `scheduled-backup` job at each time the cron expression names (in the schedule's zone); and the
 * heads-up before each run, a delayed `heads-up` job with a deterministic id (`headsup:<schedule>:<epoch ms>`), so
 * queueing it again — every worker start, every run — never posts twice.
 *
 * The time of the next run is read back from the job scheduler itself (`getJobScheduler(id).next`), never
 * recomputed, so the heads-up is for exactly the run BullMQ will make.
 */
export function createScheduleJobs(queue: Queue<OperationJobData>) {
  async function nextRunAt(scheduleId: string): Promise<number | undefined> {
    const scheduler = await queue.getJobScheduler(scheduleId);
    return scheduler?.next ?? undefined;
  }

  /** Queues the heads-up for the schedule's next run (due `headsUpMinutes` before it, or now if that is past). */
  async function queueHeadsUp(schedule: Pick<Schedule, 'id' | 'cluster' | 'headsUpMinutes'>): Promise<number | undefined> {
    if (schedule.headsUpMinutes <= 0) return undefined;
    const runAt = await nextRunAt(schedule.id);
    if (runAt === undefined) return undefined;
    const data: HeadsUpJobData = { kind: 'heads-up', scheduleId: schedule.id, cluster: schedule.cluster, runAt };
    const dueAt = runAt - schedule.headsUpMinutes * 60_000;
    await queue.add(HEADS_UP_JOB, data, { jobId: headsUpJobId(schedule.id, runAt), delay: Math.max(0, dueAt - Date.now()), attempts: 1, ...KEEP });
    return runAt;
  }

  /** Creates or updates the schedule's job scheduler, then queues the heads-up of its next run. */
  async function install(schedule: Schedule): Promise<void> {
    const data: ScheduledBackupJobData = { kind: 'scheduled-backup', scheduleId: schedule.id, cluster: schedule.cluster };
    await queue.upsertJobScheduler(schedule.id, { pattern: schedule.cron, tz: schedule.timezone }, { name: SCHEDULED_BACKUP_JOB, data, opts: { attempts: 1, ...KEEP } });
    await queueHeadsUp(schedule);
  }

  /** The message the heads-up of the run at `runAt` was posted as, if it was (the `heads-up` job's result). */
  async function postedHeadsUp(scheduleId: string, runAt: number): Promise<{ channel: string; ts: string } | undefined> {
    const job = await queue.getJob(headsUpJobId(scheduleId, runAt));
    const result = job?.returnvalue as { status?: string; channel?: string; ts?: string } | null | undefined;
    return result?.status === 'posted' && result.channel && result.ts ? { channel: result.channel, ts: result.ts } : undefined;
  }

  /**
   * Removes the schedule's job scheduler and the heads-up waiting for its next run. Returns that heads-up's
   * message when it has already been posted, so the caller can tell the users the pause is off.
   */
  async function uninstall(scheduleId: string): Promise<{ postedHeadsUp?: { channel: string; ts: string; runAt: number } }> {
    const runAt = await nextRunAt(scheduleId);
    await queue.removeJobScheduler(scheduleId);
    if (runAt === undefined) return {};
    const headsUp = await queue.getJob(headsUpJobId(scheduleId, runAt));
    if (headsUp && ((await headsUp.isDelayed()) || (await headsUp.isWaiting()))) await headsUp.remove().catch(() => undefined);
    const posted = await postedHeadsUp(scheduleId, runAt);
    return posted ? { postedHeadsUp: { ...posted, runAt } } : {};
  }

  return {
    install,
    uninstall,
    queueHeadsUp,
    nextRunAt,

    /**
     * Makes the queue's job schedulers exactly `schedules`: installs (upserts) each, removes the ones no longer
     * wanted (a schedule deleted from the config file while no worker ran). Every worker does this at start.
     */
    async sync(schedules: Schedule[]): Promise<{ installed: number; removed: string[] }> {
      const wanted = new Set(schedules.map((s) => s.id));
      const removed: string[] = [];
      for (const scheduler of await queue.getJobSchedulers()) {
        if (scheduler.name === SCHEDULED_BACKUP_JOB && !wanted.has(scheduler.key)) {
          await uninstall(scheduler.key);
          removed.push(scheduler.key);
        }
      }
      for (const schedule of schedules) await install(schedule);
      return { installed: schedules.length, removed };
    },

    /**
     * Waits (at most `timeoutMs`) until the heads-up of the run at `runAt` has been posted or given up, so users are
     * always told before the pause they were told about. Returns at once when there is no such heads-up.
     */
    async waitForHeadsUp(scheduleId: string, runAt: number, timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await queue.getJob(headsUpJobId(scheduleId, runAt));
        if (!job) return;
        const state = await job.getState();
        if (state === 'completed' || state === 'failed' || state === 'unknown' || Date.now() > deadline) return;
        await sleep(200);
      }
    },

    postedHeadsUp,
    /** Whether the schedule's run at `runAt` is still to come or under way (its job waiting, delayed or active). */
    async runPending(scheduleId: string, runAt: number): Promise<boolean> {
      const job = await queue.getJob(scheduledRunJobId(scheduleId, runAt));
      return job !== undefined && ['waiting', 'delayed', 'prioritized', 'active'].includes(await job.getState());
    },

    /** The job schedulers of schedules on the queue (for tests and status). */
    async list() {
      return (await queue.getJobSchedulers()).filter((s) => s.name === SCHEDULED_BACKUP_JOB);
    },
  };
}

export type ScheduleJobs = ReturnType<typeof createScheduleJobs>;
