import { createRestoreRequestStore } from '../restore/restore-request-store.js';
import { WebClient } from '@slack/web-api';
import { InvalidArgumentError, type Command } from 'commander';
import type { ClusterConfig, Config } from '../config/config.js';
import { defaultConfigPath, loadConfig } from '../config/load-config.js';
import { PachbackupError } from '../errors.js';
import { estimateBackup } from '../estimate/estimate-backup.js';
import { requestCancel } from '../jobs/cancel-requests.js';
import { createOperationsQueue } from '../jobs/operations-queue.js';
import { startReportingWorker } from './start-reporting-worker.js';
import { DEFAULT_RANGES_AT_ONCE } from '../fan-out/fan-out.js';
import { createLogger, type Logger } from '../log.js';
import { startHealthServer } from '../observability/health-server.js';
import { createMetrics, loadClusterMetrics, type PachbackupMetrics } from '../observability/metrics.js';
import { pachdRunning } from '../observability/pachd-running.js';
import { redisCheck, stateDatabaseCheck } from '../observability/readiness-checks.js';
import { clusterAdapters, type ClusterAdapters } from '../runtime/cluster-adapters.js';
import { connectState, type StateConnections } from '../runtime/connect-state.js';
import { createShutdown, exitOnSignal, type Shutdown } from '../runtime/graceful-shutdown.js';
import { createScheduleJobs } from '../schedules/schedule-jobs.js';
import { createScheduleStore } from '../schedules/schedule-store.js';
import { createSchedules } from '../schedules/schedules.js';
import { createClusterReads } from '../status/cluster-reads.js';
import { createPendingConfirmations } from '../slack/pending-confirmations.js';
import { createReplayGuard } from '../slack/replay-guard.js';
import { slackClientOptions, startSlackApp } from '../slack/start-slack-app.js';

/** A start that fails closes what was opened before it, so the process exits with the error instead of hanging on open connections. */
async function startedOrClosed<T>(start: Promise<T>, close: () => Promise<unknown>): Promise<T> {
  try {
    return await start;
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** Clients per cluster, built once and shared by every listener. */
function cachedAdapters(): (cluster: ClusterConfig) => ClusterAdapters {
  const cache = new Map<string, ClusterAdapters>();
  return (cluster) => {
    let adapters = cache.get(cluster.name);
    if (!adapters) cache.set(cluster.name, (adapters = clusterAdapters(cluster)));
    return adapters;
  };
}

/** Starts the Slack app (and, with `withWorker`, a worker in the same process). */
export async function serve(
  config: Config,
  state: StateConnections,
  log: Logger,
  options: { withWorker: boolean; fallbackZone: string; host: string; workerLockDurationMs?: number; metrics?: PachbackupMetrics; shutdown?: Shutdown },
) {
  if (!config.slack) throw new PachbackupError('config-invalid', `${config.source} has no \`slack\` section`, { hint: 'add slack.botToken and slack.signingSecret (or appToken for Socket Mode)' });
  // BullMQ does not close a connection it was given: closing the queue closes its connection too.
  const queueConnection = state.redis.duplicate({ maxRetriesPerRequest: null });
  const queue = createOperationsQueue(queueConnection, config.redis.prefix, { runs: state.runs });
  const closeQueue = async () => {
    await queue.close();
    queueConnection.disconnect();
  };
  const adapters = cachedAdapters();
  const estimate = async (cluster: ClusterConfig) => {
    const a = adapters(cluster);
    return (await estimateBackup({ pool: state.pool, cluster, workloads: a.workloads, clusterS3: a.clusterS3, catalog: a.catalog })).estimate;
  };
  // Schedules made in Slack take effect at once: the app installs their job schedulers itself.
  const minInterval = Number(process.env.PACHBACKUP_SCHEDULE_MIN_INTERVAL_SECONDS);
  const schedules = createSchedules({
    config,
    store: createScheduleStore(state.pool),
    jobs: createScheduleJobs(queue.queue),
    ...(process.env.PACHBACKUP_SCHEDULE_MIN_INTERVAL_SECONDS && minInterval >= 0 ? { minIntervalSeconds: minInterval } : {}),
  });
  const app = await startedOrClosed(startSlackApp({
    slack: config.slack,
    log,
    host: options.host,
    replayGuard: createReplayGuard({ redis: state.redis, prefix: config.redis.prefix, signingSecret: config.slack.signingSecret }),
    deps: {
      config,
      log,
      runs: state.runs,
      audit: state.audit,
      locks: state.locks,
      queue,
      confirmations: createPendingConfirmations(state.redis, { prefix: config.redis.prefix }),
      requestCancel: (runId) => requestCancel(state.redis, config.redis.prefix, runId),
      adapters,
      reads: createClusterReads({ adapters, locks: state.locks, runs: state.runs, estimate }),
      fallbackZone: options.fallbackZone,
      schedules,
      restoreRequests: createRestoreRequestStore(state.pool),
    },
  }), closeQueue);
  const worker = options.withWorker
    ? await startedOrClosed(startReportingWorker({
        config,
        state,
        log,
        slack: app.app.client as unknown as WebClient,
        fallbackZone: options.fallbackZone,
        estimate,
        ...(options.metrics ? { metrics: options.metrics } : {}),
        ...(options.shutdown ? { shutdown: options.shutdown } : {}),
        ...(options.workerLockDurationMs ? { lockDurationMs: options.workerLockDurationMs } : {}),
      }), async () => (await app.stop(), await closeQueue()))
    : undefined;
  log.info({ mode: config.slack.appToken ? 'socket' : 'http', port: app.port, worker: options.withWorker }, 'pachbackup is serving Slack');
  return {
    port: app.port,
    /** Stops answering Slack and (with a worker) taking jobs at once, then closes what it opened. */
    async stop() {
      const stoppingWorker = worker?.stop();
      await app.stop();
      await stoppingWorker;
      await closeQueue();
    },
  };
}

/**
 * Metrics, liveness and readiness for a long-running process, on PACHBACKUP_METRICS_PORT (default 9090): the
 * port the Kubernetes probes and the Service in deploy/ use.
 */
async function startObservability(config: Config, state: StateConnections, log: Logger, process_: 'serve' | 'worker') {
  const metrics = createMetrics({ defaultLabels: { process: process_ } });
  await loadClusterMetrics(metrics, { config, runs: state.runs, pachdRunning: (cluster) => pachdRunning(config.clusters[cluster]!) });
  const health = await startHealthServer({
    port: Number(process.env.PACHBACKUP_METRICS_PORT ?? 9090),
    host: process.env.PACHBACKUP_LISTEN_HOST ?? '0.0.0.0',
    registry: metrics.registry,
    checks: [stateDatabaseCheck(state.pool), redisCheck(state.redis)],
    log,
  });
  return { metrics, health };
}

/** The root logger of a long-running process: JSON lines on stdout, secrets redacted and scrubbed from text. */
function processLogger(name: string): Logger {
  return createLogger({ name });
}

/** A commander parser for a whole number of at least 1, saying which option was wrong and what would be right. */
function positiveInteger(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${option} takes a whole number of at least 1, not "${value}"`);
    return n;
  };
}

/**
 * Starts a long-running process and keeps it until SIGTERM or SIGINT, then stops it within
 * `shutdownGraceSeconds` (see `exitOnSignal`). A signal that arrives while it still starts (crash recovery may
 * be resuming a cluster) is honoured as soon as the start is done: `start` returns the process's `stop`.
 */
async function runUntilSignal(config: Config, log: Logger, start: (shutdown: Shutdown) => Promise<() => Promise<void>>): Promise<void> {
  const shutdown = createShutdown();
  const starting = start(shutdown);
  const exited = exitOnSignal({ log, shutdown, graceMs: config.shutdownGraceSeconds * 1000, stop: async () => (await starting)() });
  await starting; // a start that fails fails the command
  await exited;
}

/** `pachbackup serve` and `pachbackup worker`: the long-running processes. */
export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('run the Slack app (HTTP, or Socket Mode when slack.appToken is set)')
    .option('-c, --config <file>', 'config file', defaultConfigPath())
    .option('--with-worker', 'also run a worker in this process')
    .option('--zone <iana>', 'time zone for plain-text times in announcements', process.env.PACHBACKUP_ZONE ?? 'UTC')
    .action(async (opts: { config: string; withWorker?: boolean; zone: string }) => {
      const config = loadConfig(opts.config);
      const log = processLogger('pachbackup-serve');
      await runUntilSignal(config, log, async (shutdown) => {
        const state = await connectState(config);
        const { metrics, health } = await startedOrClosed(startObservability(config, state, log, 'serve'), () => state.close());
        const running = await startedOrClosed(
          serve(config, state, log, { withWorker: opts.withWorker ?? false, fallbackZone: opts.zone, host: process.env.PACHBACKUP_LISTEN_HOST ?? '0.0.0.0', metrics, shutdown }),
          async () => (await health.close(), await state.close()),
        );
        return async () => {
          await running.stop();
          await health.close();
          await state.close();
        };
      });
    });

  program
    .command('worker')
    .description('run a worker: take backups off the queue and run them (run as many as you like)')
    .option('-c, --config <file>', 'config file', defaultConfigPath())
    .option('--concurrency <n>', 'operations at once (one per cluster at most)', (v) => Number(v), 4)
    .option('--ranges <n>', 'key ranges of large copies (any worker\'s) this worker copies at once', positiveInteger('--ranges'), DEFAULT_RANGES_AT_ONCE)
    .option('--zone <iana>', 'time zone for plain-text times in announcements', process.env.PACHBACKUP_ZONE ?? 'UTC')
    .action(async (opts: { config: string; concurrency: number; ranges: number; zone: string }) => {
      const config = loadConfig(opts.config);
      const log = processLogger('pachbackup-worker');
      await runUntilSignal(config, log, async (shutdown) => {
        const state = await connectState(config);
        const { metrics, health } = await startedOrClosed(startObservability(config, state, log, 'worker'), () => state.close());
        const slack = config.slack ? new WebClient(config.slack.botToken, slackClientOptions(config.slack)) : undefined;
        const lockMs = Number(process.env.PACHBACKUP_JOB_LOCK_MS);
        const worker = await startedOrClosed(
          startReportingWorker({ config, state, log, ...(slack ? { slack } : {}), concurrency: opts.concurrency, rangeConcurrency: opts.ranges, fallbackZone: opts.zone, metrics, shutdown, ...(lockMs > 0 ? { lockDurationMs: lockMs } : {}) }),
          async () => (await health.close(), await state.close()),
        );
        log.info({ concurrency: opts.concurrency, ranges: opts.ranges }, 'pachbackup worker is running');
        return async () => {
          await worker.stop();
          await health.close();
          await state.close();
        };
      });
    });
}
