import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WebClient } from '@slack/web-api';
import { recoverInterruptedRuns } from '../backup/recover-interrupted.js';
import { recoverInterruptedRestores } from '../restore/recover-interrupted-restores.js';
import { restoreDepsFor } from '../restore/restore-deps-for.js';
import type { ClusterConfig, Config } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { estimateBackup } from '../estimate/estimate-backup.js';
import { estimateRestoreDowntime } from '../estimate/estimate-restore.js';
import type { Logger } from '../log.js';
import { createRunEvents } from '../runner/run-event.js';
import type { BackupResult } from '../backup/run-backup.js';
import type { DrillResult } from '../drill/run-drill.js';
import type { RestoreResult } from '../restore/run-restore.js';
import { backupDepsFor } from '../runtime/backup-deps-for.js';
import { clusterAdapters } from '../runtime/cluster-adapters.js';
import type { StateConnections } from '../runtime/connect-state.js';
import type { Shutdown } from '../runtime/graceful-shutdown.js';
import { createHeadsUpProcessor } from '../schedules/post-heads-up.js';
import { createScheduledBackupProcessor } from '../schedules/run-scheduled-backup.js';
import { createScheduleJobs, HEADS_UP_JOB, SCHEDULED_BACKUP_JOB } from '../schedules/schedule-jobs.js';
import { createScheduleStore } from '../schedules/schedule-store.js';
import { createSchedules } from '../schedules/schedules.js';
import type { DowntimeEstimate } from '../estimate/downtime-estimate.js';
import { createMaintenance, RETENTION_JOB, STALE_CHECK_JOB } from '../maintenance/maintenance-jobs.js';
import { observeRun, type PachbackupMetrics } from '../observability/metrics.js';
import type { RunKind, RunRecord } from '../state/run-store.js';
import { startQueueWorker } from './start-queue-worker.js';
import { jobEnded, requeueVanishedJobs } from './requeue-runs.js';
import { createOperationsQueue, operationsQueueName, type BackupJobData, type DrillJobData, type HeadsUpJobData, type RestoreJobData, type OperationJobData, type ScheduledBackupJobData } from './operations-queue.js';
import { createBackupJobProcessor } from './process-backup-job.js';
import { createDrillJobProcessor } from './process-drill-job.js';
import { createRestoreJobProcessor, restoreRunStart, type RestoreRunStart } from './process-restore-job.js';
import { observeWith, type RunObserver, type RunStart } from './run-observer.js';
import { subjectOf } from './job-run.js';
import { createBackupSteps } from '../backup/backup-steps.js';
import { plannedSteps } from '../runner/step.js';
import { createJobAuthority, type JobRefusal } from './job-authority.js';
import { createAuthorizer } from '../access/authorizer.js';
import { createRestoreRequestStore } from '../restore/restore-request-store.js';
import { drillDepsFor } from '../drill/drill-deps-for.js';
import { startRangeWorker } from '../fan-out/start-range-worker.js';
import { fanOutFor } from '../runtime/fan-out-for.js';

/** A backup's downtime estimate made with clients opened for it and closed after. */
async function estimateWithFreshClients(state: StateConnections, cluster: ClusterConfig): Promise<DowntimeEstimate> {
  const a = clusterAdapters(cluster);
  try {
    return (await estimateBackup({ pool: state.pool, cluster, workloads: a.workloads, clusterS3: a.clusterS3, catalog: a.catalog })).estimate;
  } finally {
    a.close();
  }
}

/**
 * What follows the worker's runs besides metrics, by kind (see `RunObserver`) — the Slack reporting, attached
 * where the worker is composed, so that the jobs themselves know nothing of Slack.
 */
export interface WorkerObservers {
  backup?: RunObserver<RunStart<BackupJobData>, BackupResult>;
  restore?: RunObserver<RestoreRunStart, RestoreResult>;
  drill?: RunObserver<RunStart<DrillJobData>, DrillResult>;
  /** A job refused before it ran (see job-authority): say why where the run or request is shown. */
  refused?: (refusal: JobRefusal) => Promise<void>;
}

/** A run's metrics (in progress, step durations, outcome, the estimate's error) from its events. */
function metricsObserver(metrics: PachbackupMetrics | undefined, kind: RunKind): RunObserver<RunStart<unknown>, unknown> | undefined {
  if (!metrics) return undefined;
  return ({ run, events, estimate }) => ({ stop: observeRun(metrics, { kind, cluster: run.cluster, ...(estimate ? { estimateSeconds: estimate.expectedSeconds } : {}) }, events) });
}

/**
 * A worker: takes operations off the queue and runs them, as many processes as you like. At start it ends
 * backups left in flight by a dead CLI process (jobs of dead workers come back through BullMQ's stalled-job
 * recovery instead, and resume from their checkpoints), and makes the queue's job schedulers match the
 * schedules (config file and Slack). Cancel requests arrive over Redis pub/sub.
 *
 * Jobs are dispatched by name: `backup` runs a backup; `scheduled-backup` (made by a schedule's job scheduler)
 * starts one unless the cluster is busy; `drill` runs a restore drill; `restore` runs an approved restore;
 * `heads-up` tells users about a coming scheduled backup.
 */
export async function startWorker(options: {
  config: Config;
  state: StateConnections;
  log: Logger;
  /** For what the worker posts itself: scheduled runs' messages, heads-ups, stale-backup alerts. */
  slack?: WebClient;
  /** Reporting of backups, restores and drills (the Slack thread), attached by the composition root. */
  observers?: WorkerObservers;
  concurrency?: number;
  fallbackZone?: string;
  /** Shorter BullMQ lock and stall intervals, for tests of worker death. */
  lockDurationMs?: number;
  /** The downtime estimate of a backup now (scheduled runs and heads-ups); default: made with fresh clients. */
  estimate?: (cluster: ClusterConfig) => Promise<DowntimeEstimate>;
  /** Where runs are counted and timed (Prometheus). */
  metrics?: PachbackupMetrics;
  /** Key ranges of large copies this process works on at once (default 4), for any worker's operations. */
  rangeConcurrency?: number;
  /** The process stopping: running operations are handed back, finished or undone before its deadline. */
  shutdown?: Shutdown;
}) {
  const { config, state, log, slack } = options;
  // Large copies of this worker's operations are split into ranges that every worker takes, this one included.
  const ranges = fanOutFor(config, state, log, options.rangeConcurrency ? { rangesAtOnce: options.rangeConcurrency } : {});
  const fanOut = ranges.fanOut;
  const queueName = operationsQueueName(config.redis.prefix);
  const estimateBackupNow = options.estimate ?? ((cluster: ClusterConfig) => estimateWithFreshClients(state, cluster));
  const lockDuration = options.lockDurationMs ?? 30_000;
  // The Redis connections BullMQ is given are ours to close (BullMQ leaves a connection it was handed open).
  const connections: Redis[] = [];
  const connection = () => {
    const c = state.redis.duplicate({ maxRetriesPerRequest: null });
    c.on('error', () => undefined); // BullMQ reports what fails; ioredis reconnects
    connections.push(c);
    return c;
  };
  const operations = createOperationsQueue(connection(), config.redis.prefix, { runs: state.runs });
  // Runs started by a CLI that died: no job will come back for them.
  const hasJob = async (runId: string) => (await operations.queue.getJob(runId)) !== undefined;
  const scheduleJobs = createScheduleJobs(operations.queue);
  const schedules = createSchedules({ config, store: createScheduleStore(state.pool), jobs: scheduleJobs });
  const scheduleDeps = {
    config,
    runs: state.runs,
    locks: state.locks,
    audit: state.audit,
    log: log.child({ component: 'schedules' }),
    schedules,
    jobs: scheduleJobs,
    enqueue: operations.enqueue,
    hasPendingJob: operations.isPending,
    estimate: estimateBackupNow,
    ...(slack ? { slack } : {}),
    ...(options.fallbackZone ? { fallbackZone: options.fallbackZone } : {}),
  };
  const maintenance = createMaintenance({ config, state, log: log.child({ component: 'maintenance' }), queue: operations.queue, ...(slack ? { slack } : {}), ...(options.metrics ? { metrics: options.metrics } : {}), ...(options.fallbackZone ? { fallbackZone: options.fallbackZone } : {}) });
  // Jobs carry ids: what they may run is decided from the state database, with rights checked now (no cache).
  const authority = createJobAuthority({ config, runs: state.runs, requests: createRestoreRequestStore(state.pool), schedules, authorizer: createAuthorizer(slack, { cacheMs: 0 }) });
  const onRefused = options.observers?.refused;
  const jobDeps = { config, runs: state.runs, locks: state.locks, audit: state.audit, log, authority, ...(onRefused ? { onRefused } : {}), ...(options.shutdown ? { shutdown: options.shutdown } : {}) };
  const backupObservers = [metricsObserver(options.metrics, 'backup'), options.observers?.backup].filter((o) => o !== undefined);
  const processor = createBackupJobProcessor({
    ...jobDeps,
    observers: backupObservers,
    depsFor: (run) => backupDepsFor(config.clusters[run.cluster]!, state, { id: run.id, requestedBy: run.requestedBy, ...(run.note ? { note: run.note } : {}) }, { fanOut }),
  });
  const runDrillJob = createDrillJobProcessor({
    ...jobDeps,
    ...(options.observers?.drill ? { observers: [options.observers.drill] } : {}),
    depsFor: (run) => drillDepsFor(config.clusters[run.cluster]!, state, { id: run.id, requestedBy: run.requestedBy, ...(run.backupId ? { backupId: run.backupId } : {}) }),
  });
  const restoreObservers = [metricsObserver(options.metrics, 'restore'), options.observers?.restore].filter((o) => o !== undefined);
  const runRestoreJob = createRestoreJobProcessor({
    ...jobDeps,
    depsFor: ({ request, runId, approvedBy }) =>
      restoreDepsFor(config, config.clusters[request.cluster]!, state, { id: runId, backupId: request.backupId, requestedBy: `<@${request.requestedBy}>`, approvedBy: approvedBy.map((u) => `<@${u}>`).join(', ') }, { fanOut }),
    estimate: async (cluster, plan) => estimateRestoreDowntime(await estimateBackupNow(cluster), plan),
    observers: restoreObservers,
  });
  const runScheduledBackup = createScheduledBackupProcessor(scheduleDeps);
  const postHeadsUp = createHeadsUpProcessor(scheduleDeps);
  const dispatch = async (job: Job<OperationJobData>, token?: string, signal?: AbortSignal) => {
    if (job.name === SCHEDULED_BACKUP_JOB) return runScheduledBackup(job as Job<ScheduledBackupJobData>);
    if (job.name === HEADS_UP_JOB) return postHeadsUp(job as Job<HeadsUpJobData>);
    if (job.name === 'backup') return processor(job as Job<BackupJobData>, token, signal);
    if (job.name === 'drill') return runDrillJob(job as Job<DrillJobData>, token, signal);
    if (job.name === 'restore') return runRestoreJob(job as Job<RestoreJobData>, token, signal);
    if (job.name === RETENTION_JOB || job.name === STALE_CHECK_JOB) return maintenance.process(job.name, job.data as { cluster?: string });
    // A job a newer version queued: fail it visibly rather than run it as something it is not.
    throw new PachbackupError('internal', `this worker does not know jobs named ${JSON.stringify(job.name)}`, { hint: 'run the same pachbackup version on every worker' });
  };

  // What dead processes and a Redis that lost its data left behind, by the state database: runs a dead CLI
  // process left (no job) or whose job ended without them are ended with their cluster resumed; runs whose job
  // vanished are queued again; jobs Redis still has come back through BullMQ's stalled-job recovery instead.
  const endable = async (run: RunRecord) => (!run.job && !(await hasJob(run.id))) || (await jobEnded(operations, run.id));
  const recoverLeftRuns = async () => {
    await recoverInterruptedRuns({
      config,
      runs: state.runs,
      locks: state.locks,
      log,
      events: createRunEvents(),
      // A run whose job BullMQ gave up on (its workers died more than maxStalledCount times) is ended here: its
      // thread and the users' announcement hear the end as from the job, which still names its Slack messages.
      observe: async (run, events, deps) => {
        const job = (await operations.queue.getJob(run.id)) as Job<BackupJobData> | undefined;
        if (!job || job.name !== 'backup') return undefined;
        const estimate = (run.estimate ?? undefined) as DowntimeEstimate | undefined;
        return observeWith(backupObservers, { job, run: subjectOf(run), events, steps: plannedSteps(createBackupSteps(deps)), createdAt: run.createdAt, ...(estimate ? { estimate } : {}) });
      },
      depsFor: (run) => backupDepsFor(config.clusters[run.cluster]!, state, { id: run.id, requestedBy: run.requestedBy }),
      only: endable,
    });
    await recoverInterruptedRestores({
      config,
      runs: state.runs,
      locks: state.locks,
      log,
      events: createRunEvents(),
      // The same for a restore: its observers are told the approved request as the job's attempts were. The run
      // exists, so its request was claimed (`started`): reading it claims nothing and asks no rights again.
      observe: async (run, _record, events, deps) => {
        const job = (await operations.queue.getJob(run.id)) as Job<RestoreJobData> | undefined;
        if (!job || job.name !== 'restore') return undefined;
        const authorized = await authority.restore(job);
        if (!authorized.ok || !authorized.started) return undefined;
        const estimate = (run.estimate ?? undefined) as DowntimeEstimate | undefined;
        return observeWith(restoreObservers, restoreRunStart({ job, authorized, restoreDeps: deps, events, createdAt: run.createdAt, ...(estimate ? { estimate } : {}) }));
      },
      depsFor: (run, record) => restoreDepsFor(config, config.clusters[run.cluster]!, state, { id: run.id, backupId: record.plan.backup.id, requestedBy: run.requestedBy }),
      only: endable,
    });
    await requeueVanishedJobs({ runs: state.runs, queue: operations, log });
  };
  await recoverLeftRuns();
  // The job schedulers (schedules, housekeeping) live in Redis; a marker beside them says whether Redis still has them.
  const syncedMarker = `${config.redis.prefix}:schedulers-synced`;
  const syncSchedulers = async () => {
    await maintenance.sync();
    const synced = await schedules.sync();
    await state.redis.set(syncedMarker, new Date().toISOString());
    return synced;
  };
  const resyncSchedulersIfLost = async () => {
    if ((await state.redis.exists(syncedMarker)) === 1) return;
    await syncSchedulers();
    log.warn('Redis had lost the job schedulers (restarted without its data?); they are made again from the schedules');
  };
  const synced = await syncSchedulers();
  if (synced.installed > 0 || synced.removed.length > 0) log.info(synced, 'job schedulers match the schedules');

  const operationsWorker = await startQueueWorker<OperationJobData>({
    queueName,
    redis: state.redis,
    prefix: config.redis.prefix,
    processor: dispatch,
    concurrency: options.concurrency ?? 4,
    lockDurationMs: lockDuration,
    onCancel(runId, worker) {
      if (worker.cancelJob(runId, 'cancelled from Slack')) log.info({ runId }, 'cancelling');
    },
    onError: (err) => log.warn({ err }, 'the queue connection failed; BullMQ reconnects'),
  });
  const worker = operationsWorker.worker;
  worker.on('failed', (job, err) => log.error({ err, jobId: job?.id }, 'operation job failed'));
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'a worker died while running this job; it runs again from its checkpoints'));
  const rangeWorker = await startRangeWorker({
    prefix: config.redis.prefix,
    redis: state.redis,
    pool: state.pool,
    runRange: ranges.runRange,
    log,
    ...(options.rangeConcurrency ? { concurrency: options.rangeConcurrency } : {}),
    lockDurationMs: lockDuration,
  });
  // And again every lock TTL, for what is left while this worker runs (Redis restarted empty, a CLI process died).
  let sweeping: Promise<void> | undefined;
  const sweep = setInterval(() => {
    sweeping ??= recoverLeftRuns()
      .then(() => resyncSchedulersIfLost())
      .catch((err: unknown) => log.warn({ err }, 'could not look for runs left behind; trying again later'))
      .finally(() => (sweeping = undefined));
  }, state.locks.ttlMs);
  sweep.unref();
  return {
    worker,
    /** Takes no new job at once, waits for the running ones to end, and closes every connection it opened. */
    async stop() {
      clearInterval(sweep);
      await operationsWorker.stop();
      await rangeWorker.stop();
      await sweeping; // a recovery under way (resuming a cluster) finishes
      await operations.close();
      await ranges.close();
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
