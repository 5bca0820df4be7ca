import { Queue, type ConnectionOptions } from 'bullmq';
import type { RunStore } from '../state/run-store.js';

/** Where a run reports in Slack: the ops-channel message the app posted for it. */
export interface SlackRunTarget {
  channel: string;
  ts: string;
  announceChannel?: string;
}

/**
 * What a users'-channel announcement says: `upcoming` (a scheduled backup's heads-up), `paused`, `overrun` (past
 * the estimate), `back`, `failed-back` (the operation failed or was cancelled, the cluster is back), `still-paused`
 * (it ended but resuming the cluster failed); restores also `restoring`, `restored` (the restored state waits beside
 * the cluster) and `failed` (ended before touching what users run on).
 */
export type AnnouncementState = 'upcoming' | 'paused' | 'overrun' | 'back' | 'failed-back' | 'still-paused' | 'restoring' | 'restored' | 'failed';

/**
 * A users'-channel announcement already posted, and since when the cluster has been paused if it is: recorded in
 * the job so that a run picked up again after its worker died edits it, and gives the all-clear with the whole
 * downtime.
 */
export interface PostedAnnouncement {
  channel: string;
  ts: string;
  /** What it says now. */
  state?: AnnouncementState;
  pausedAt?: string;
}

/**
 * A backup job: names the run the app recorded at Confirm (or a schedule recorded) in the state database, and
 * nothing else the worker believes — cluster, requester, note, estimate and where it reports are read from the run
 * (see job-authority).
 */
export interface BackupJobData {
  kind: 'backup';
  runId: string;
  /** The users' announcement once posted (and since when the cluster is paused), for an attempt after a dead worker. */
  announcement?: PostedAnnouncement;
}

/**
 * A restore drill (job name `drill`): names the drill run the app recorded when it was asked for; the backup to
 * drill, the requester and the ops-channel message whose thread gets the checks and the verdict are in the run.
 */
export interface DrillJobData {
  kind: 'drill';
  runId: string;
}

/**
 * An approved restore (job name `restore`): names the restore request and the run its approval started. The worker
 * runs it only as the state database records it approved (see job-authority) — the plan, the requester and the
 * approvers come from there. It records here the run's own message and the users' announcement once posted, so
 * that an attempt picked up after a worker died edits them rather than posting again.
 */
export interface RestoreJobData {
  kind: 'restore';
  runId: string;
  requestId: string;
  runMessage?: { channel: string; ts: string };
  announcement?: PostedAnnouncement;
}

/**
 * One run of a schedule, made by the schedule's BullMQ job scheduler (job name `scheduled-backup`). It does not
 * back up by itself: the worker checks the cluster is free, creates the run and queues a `backup` job for it.
 */
export interface ScheduledBackupJobData {
  kind: 'scheduled-backup';
  scheduleId: string;
  cluster: string;
}

/** The users' heads-up before a scheduled run at `runAt` (epoch ms); job name `heads-up`, delayed until it is due. */
export interface HeadsUpJobData {
  kind: 'heads-up';
  scheduleId: string;
  cluster: string;
  runAt: number;
}

export type OperationJobData = BackupJobData | DrillJobData | RestoreJobData | ScheduledBackupJobData | HeadsUpJobData;

/** The job names the worker processes (each job's name is its data's `kind`). */
export type OperationJobName = OperationJobData['kind'];

export function operationsQueueName(prefix: string): string {
  return `${prefix}-operations`;
}

/**
 * The queue every operation goes through (given `runs`, each job is recorded with its run). The job id is the run id, so a run is enqueued at most once however
 * often it is requested (double clicks, retried requests). Jobs are not retried on failure — a failed backup is a
 * result, not an accident — but a job whose worker died is picked up again (stalled-job recovery) and resumes
 * from its checkpoints.
 */
export function createOperationsQueue(connection: ConnectionOptions, prefix: string, options: { runs?: Pick<RunStore, 'setRunFields'> } = {}) {
  const queue = new Queue<OperationJobData>(operationsQueueName(prefix), {
    connection,
    defaultJobOptions: { attempts: 1, removeOnComplete: { age: 7 * 24 * 3600, count: 1000 }, removeOnFail: { age: 30 * 24 * 3600 } },
  });
  return {
    queue,
    /**
     * Queues a run's job — recorded with the run in the state database first (`runs`), so that a job Redis loses
     * is queued again by recovery (see `requeueVanishedJobs`).
     */
    async enqueue(data: BackupJobData | DrillJobData | RestoreJobData): Promise<void> {
      await options.runs?.setRunFields(data.runId, { job: data });
      await queue.add(data.kind, data, { jobId: data.runId });
    },
    /** Whether the run's job is waiting for a worker or held by one. */
    async isPending(runId: string): Promise<boolean> {
      const job = await queue.getJob(runId);
      return job !== undefined && ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'].includes(await job.getState());
    },
    /** Removes a job that no worker has started; false when it is already running (or gone). */
    async removeIfWaiting(runId: string): Promise<boolean> {
      const job = await queue.getJob(runId);
      if (!job) return false;
      const state = await job.getState();
      if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
      await job.remove();
      return true;
    },
    close: () => queue.close(),
  };
}

export type OperationsQueue = ReturnType<typeof createOperationsQueue>;
