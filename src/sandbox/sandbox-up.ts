import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { loadConfig } from '../config/load-config.js';
import { describeError, isPachbackupError, PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import { createS3Client } from '../object-store/s3-client.js';
import { kubeconfigFor } from './kube-sim/kubeconfig.js';
import { anyRunning, createLaunchRecord, readStartingRecord, removeOwnDir, stopAll, type SandboxService } from './launch-record.js';
import { freePort, nodeEntry, startProcess } from './processes.js';
import { renderSandboxConfig, SANDBOX, sandboxHelmValues } from './sandbox-config.js';
import { readSandboxState, writeSandboxState, type SandboxState } from './sandbox-state.js';
import { addChunks, DATASETS, type DatasetSize } from './seed/chunks.js';
import { createPachydermSchema, seedDexDatabase, seedPachydermRows } from './seed/pachyderm-database.js';
import { startPostgres } from './services/postgres.js';
import { startRedis } from './services/redis.js';
import { S3RVER_CREDENTIALS, startS3 } from './services/s3.js';

export interface SandboxUpOptions {
  dir: string;
  size: DatasetSize;
  logger: Logger;
  /** Delay of the Kubernetes simulator's pod start/stop, as a real cluster takes a while. */
  podDelayMs?: number;
  /**
   * A test hook (`PACHBACKUP_SANDBOX_FAIL=<service>` on the command line): that service is started on a port
   * something already listens on, so its start fails for real, and what `up` does about it can be watched.
   */
  failAt?: SandboxService;
  /** Aborted (Ctrl-C): `up` stops what it started and rejects. */
  signal?: AbortSignal;
  /** How the Slack app receives what people do: Socket Mode (default, like a real install) or signed HTTP. */
  slackMode?: 'socket' | 'http';
}

/** Our own entry modules, run as processes (compiled .js, or .ts through tsx in development). */
function entry(relative: string): { command: string; args: string[] } {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return nodeEntry(new URL(`${relative}${ext}`, import.meta.url));
}

/** A loopback port held open by this process, so whoever is given it cannot listen there. */
async function occupiedPort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((done, fail) => server.once('error', fail).listen(0, '127.0.0.1', done));
  return { port: (server.address() as AddressInfo).port, release: () => new Promise((done) => server.close(() => done())) };
}

/** The first rejection of settled starts, thrown; otherwise their values. */
function allStarted<T extends readonly unknown[]>(settled: { [K in keyof T]: PromiseSettledResult<T[K]> }): T {
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Starts the whole sandbox: PostgreSQL, Redis, s3rver, the Kubernetes and Slack simulators, seeded like a
 * Pachyderm 2.x cluster, then the bot (the Slack app and a worker), and writes `sandbox.json` and the pachbackup
 * config. Every process is recorded the moment it exists (`starting.json`); when any service fails to start,
 * everything started so far is stopped and removed, and the error names the service, its log and what to do.
 */
export async function sandboxUp(options: SandboxUpOptions): Promise<SandboxState> {
  const dir = resolve(options.dir);
  const log = options.logger;
  const existing = readSandboxState(dir);
  const unfinished = readStartingRecord(dir);
  if ((existing && anyRunning(existing.pids)) || (unfinished && anyRunning(unfinished.pids))) {
    throw new PachbackupError('conflict', `a sandbox is already running (or starting) from ${dir}`, { hint: 'use it, or stop it first with `pachbackup sandbox down`' });
  }
  // What a sandbox that died without `down` left behind.
  for (const old of [...(existing?.postgres.dataDir ? [existing.postgres.dataDir] : []), ...(unfinished?.ownDirs ?? [])]) removeOwnDir(dir, old);
  for (const sub of ['postgres', 'redis', 's3', 'secrets']) rmSync(join(dir, sub), { recursive: true, force: true });
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  mkdirSync(join(dir, 'redis'), { recursive: true });
  const secretsDir = join(dir, 'secrets');
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });

  const launch = createLaunchRecord(dir);
  const blocker = options.failAt ? await occupiedPort() : undefined;
  const portFor = async (service: SandboxService) => (service === options.failAt && blocker ? blocker.port : freePort());
  const logFile = (service: SandboxService) => join(logs, `${service}.log`);
  // Every process of this sandbox carries its folder in its environment: findable whatever the records say.
  const sandboxEnv = { ...process.env, PACHBACKUP_SANDBOX_DIR: dir };
  /** `work`, or the abort (Ctrl-C) if it comes first: what is still starting is stopped with the rest. */
  const untilAborted = <T>(work: Promise<T>): Promise<T> => {
    const signal = options.signal;
    if (!signal) return work;
    signal.throwIfAborted();
    return Promise.race([work, new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))]);
  };
  /** Runs one service's start; a failure is said as that service's. */
  const starting = async <T>(service: SandboxService, start: () => Promise<T>): Promise<T> => {
    try {
      return await untilAborted(start());
    } catch (err) {
      throw err instanceof ServiceStartError ? err : new ServiceStartError(service, err);
    }
  };
  /** Spawns one of our own processes, recorded at once. */
  const spawnRecorded = (service: SandboxService, command: { command: string; args: string[] }, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const proc = startProcess(command.command, [...command.args, ...args], { logFile: logFile(service), env: { ...sandboxEnv, ...env } });
    launch.addProcess(service, proc.pid);
    return proc;
  };

  try {
    log.info({ size: options.size }, 'starting PostgreSQL, Redis and s3rver');
    // Every start is awaited, failed or not, before anything is stopped: a process still starting gets recorded too.
    const [postgres, redis, s3] = allStarted(
      await Promise.allSettled([
        starting('postgres', async () => {
          const p = await startPostgres({ dataDir: join(dir, 'postgres'), port: await portFor('postgres'), env: sandboxEnv });
          launch.addProcess('postgres', p.pid);
          if (!p.dataDir.startsWith(`${dir}/`)) launch.addOwnDir(p.dataDir);
          return p;
        }),
        starting('redis', async () =>
          startRedis({ directory: join(dir, 'redis'), logFile: logFile('redis'), port: await portFor('redis'), password: SANDBOX.redisPassword, env: sandboxEnv, onSpawn: (pid) => launch.addProcess('redis', pid) }),
        ),
        starting('s3', async () =>
          startS3({
            directory: join(dir, 's3'),
            buckets: [SANDBOX.clusterBucket, SANDBOX.backupBucket],
            logFile: logFile('s3'),
            port: await portFor('s3'),
            env: sandboxEnv,
            onSpawn: (pid) => launch.addProcess('s3', pid),
          }),
        ),
      ] as const),
    );

    const pgPassword = 'sandbox-pachyderm-password';
    const stateDatabaseUrl = `postgres://${SANDBOX.stateRole}@127.0.0.1:${postgres.port}/${SANDBOX.stateDatabase}`;
    log.info('seeding the pachyderm and dex databases and the cluster bucket');
    const seeded = await untilAborted(seedState({ postgresUrl: postgres.url, pgPassword, s3Endpoint: s3.endpoint, size: options.size }));

    const helmValuesFile = join(dir, 'helm-values.yaml');
    writeFileSync(helmValuesFile, stringify(sandboxHelmValues({ postgresPort: postgres.port, s3Endpoint: s3.endpoint })));
    const slackMode = options.slackMode ?? 'socket';
    // The app listens for Slack only over HTTP; in Socket Mode its one port is its metrics port.
    const [kubePort, slackPort, appPort, appMetricsPort] = await Promise.all([
      portFor('kubernetes'),
      portFor('slack'),
      slackMode === 'http' ? portFor('app') : freePort(),
      slackMode === 'socket' ? portFor('app') : freePort(),
    ]);
    const eventsUrl = `http://127.0.0.1:${appPort}/slack/events`;

    allStarted(
      await Promise.allSettled([
        starting('kubernetes', async () => {
          const proc = spawnRecorded('kubernetes', entry('./kube-sim/main'), [
            '--port', String(kubePort), '--namespace', SANDBOX.namespace, '--helm-values', helmValuesFile,
            '--pod-delay-ms', String(options.podDelayMs ?? 500), '--postgres-password', pgPassword,
          ]);
          await proc.ready('kube-sim listening on', { name: 'the Kubernetes simulator' });
        }),
        starting('slack', async () => {
          const proc = spawnRecorded('slack', entry('./slack-sim/main'), [
            '--port', String(slackPort), '--signing-secret', SANDBOX.signingSecret, '--bot-token', SANDBOX.botToken,
            ...(slackMode === 'socket' ? ['--socket-mode', '--app-token', SANDBOX.appToken] : ['--app-events-url', eventsUrl]),
          ]);
          await proc.ready('slack-sim listening on', { name: 'the Slack simulator' });
        }),
      ] as const),
    );

    const kubeServer = `http://127.0.0.1:${kubePort}`;
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(kubeServer, SANDBOX.namespace), { mode: 0o600 });
    const secret = (name: string, value: string) => {
      const path = join(secretsDir, name);
      writeFileSync(path, `${value}\n`, { mode: 0o600 });
      return path;
    };
    const secrets = {
      pgPassword: secret('postgres-password', pgPassword),
      s3SecretKey: secret('s3-secret-access-key', S3RVER_CREDENTIALS.secretAccessKey),
      slackBotToken: secret('slack-bot-token', SANDBOX.botToken),
      slackSigningSecret: secret('slack-signing-secret', SANDBOX.signingSecret),
      slackAppToken: secret('slack-app-token', SANDBOX.appToken),
      stateDatabasePassword: secret('state-database-password', SANDBOX.stateDatabasePassword),
      redisPassword: secret('redis-password', SANDBOX.redisPassword),
    };
    const configFile = join(dir, 'pachbackup.yaml');
    const slackApiUrl = `http://127.0.0.1:${slackPort}/api/`;
    writeFileSync(
      configFile,
      renderSandboxConfig({ postgresPort: postgres.port, caFile: postgres.caFile, redisUrl: redis.url, stateDatabaseUrl, s3Endpoint: s3.endpoint, kubeconfig, slackApiUrl, appPort, slackMode, secrets }),
    );
    loadConfig(configFile); // the generated config must pass the same validation as a hand-written one

    // The bot itself: the Slack app and a worker, as separate processes, on the generated config.
    const cli = entry('../cli/main');
    const botEnv = { LOG_LEVEL: 'info', PACHBACKUP_LISTEN_HOST: '127.0.0.1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const workerMetricsPort = await portFor('worker');
    allStarted(
      await Promise.allSettled([
        starting('app', async () => {
          const proc = spawnRecorded('app', cli, ['serve', '--config', configFile], { ...botEnv, PACHBACKUP_METRICS_PORT: String(appMetricsPort) });
          await proc.ready('pachbackup is serving Slack', { name: 'pachbackup serve' });
        }),
        starting('worker', async () => {
          const proc = spawnRecorded('worker', cli, ['worker', '--config', configFile], { ...botEnv, PACHBACKUP_METRICS_PORT: String(workerMetricsPort) });
          await proc.ready('worker is running', { name: 'pachbackup worker' });
        }),
      ] as const),
    );
    options.signal?.throwIfAborted();

    const state: SandboxState = {
      config: configFile,
      cluster: SANDBOX.cluster,
      size: options.size,
      startedAt: new Date().toISOString(),
      dir,
      postgres: { url: postgres.url, port: postgres.port, caFile: postgres.caFile, dataDir: postgres.dataDir, databases: ['pachyderm', 'dex'], stateDatabaseUrl, stateDatabasePassword: SANDBOX.stateDatabasePassword },
      redis: { url: redis.url, password: SANDBOX.redisPassword },
      s3: {
        endpoint: s3.endpoint,
        region: s3.region,
        ...S3RVER_CREDENTIALS,
        clusterBucket: SANDBOX.clusterBucket,
        backupBucket: SANDBOX.backupBucket,
        backupPrefix: SANDBOX.backupPrefix,
        objects: seeded.objects,
        bytes: seeded.bytes,
      },
      kubernetes: { server: kubeServer, namespace: SANDBOX.namespace, kubeconfig },
      metrics: { app: `http://127.0.0.1:${appMetricsPort}/metrics`, worker: `http://127.0.0.1:${workerMetricsPort}/metrics` },
      slack: {
        mode: slackMode,
        apiUrl: slackApiUrl,
        messagesUrl: `http://127.0.0.1:${slackPort}/messages`,
        ...(slackMode === 'http' && { eventsUrl }),
        signingSecret: SANDBOX.signingSecret,
        botToken: SANDBOX.botToken,
        opsChannel: SANDBOX.opsChannel,
        announceChannel: SANDBOX.announceChannel,
        operators: [...SANDBOX.operators],
        approvers: [...SANDBOX.approvers],
      },
      pids: launch.record.pids as Record<string, number>,
    };
    writeSandboxState(dir, state);
    launch.done();
    return state;
  } catch (err) {
    const stopped = launch.started();
    log.info({ err }, 'sandbox up failed; stopping what was started');
    await stopAll(launch.record.pids);
    for (const own of launch.record.ownDirs) removeOwnDir(dir, own);
    for (const entry of readdirSync(dir)) if (entry !== 'logs') rmSync(join(dir, entry), { recursive: true, force: true });
    throw explainFailure(err, { stopped, logs, aborted: options.signal?.aborted ?? false });
  } finally {
    await blocker?.release();
  }
}

/** A service that did not start, with what went wrong. */
class ServiceStartError extends Error {
  constructor(
    readonly service: SandboxService,
    readonly reason: unknown,
  ) {
    super(`${service}: ${describeError(reason)}`);
  }
}

const SERVICE_NAMES: Record<SandboxService, string> = {
  postgres: 'PostgreSQL',
  redis: 'Redis',
  s3: 'the S3 server (s3rver)',
  kubernetes: 'the Kubernetes simulator',
  slack: 'the Slack simulator',
  app: 'the Slack app (pachbackup serve)',
  worker: 'the worker (pachbackup worker)',
};

/** The error `sandbox up` ends with: which service failed and why, what was stopped, where to look, what to do. */
function explainFailure(err: unknown, o: { stopped: SandboxService[]; logs: string; aborted: boolean }): PachbackupError {
  const stoppedText = o.stopped.length ? `Stopped everything it had started (${o.stopped.join(', ')}): nothing is left running.` : 'Nothing was left running.';
  if (o.aborted) return new PachbackupError('cancelled', `sandbox up was interrupted. ${stoppedText}`, { cause: err });
  if (!(err instanceof ServiceStartError)) {
    return new PachbackupError('unavailable', `sandbox up failed: ${describeError(err)}\n${stoppedText}`, {
      hint: `see the logs in ${o.logs}, then run \`pachbackup sandbox up\` again`,
      cause: err,
    });
  }
  const { reason, service } = err;
  const fix = isPachbackupError(reason) && reason.code === 'dependency-missing' && reason.hint ? reason.hint : 'fix the cause (a port another program took, a missing package, a full disk)';
  return new PachbackupError('unavailable', `sandbox up failed starting ${SERVICE_NAMES[service]}: ${isPachbackupError(reason) ? reason.message : describeError(reason)}\n${stoppedText}`, {
    hint: `${fix}, then run \`pachbackup sandbox up\` again (logs stay in ${o.logs})`,
    cause: reason,
  });
}
/** Roles, databases, Pachyderm-shaped schemas and rows, and the chunk objects they reference. */
async function seedState(o: { postgresUrl: string; pgPassword: string; s3Endpoint: string; size: DatasetSize }): Promise<{ objects: number; bytes: number }> {
  const admin = new pg.Client({ connectionString: o.postgresUrl });
  await admin.connect();
  try {
    // pachbackup connects as Pachyderm's role; restores create their staging databases, hence CREATEDB.
    await admin.query(`CREATE ROLE ${SANDBOX.pachydermRole} LOGIN CREATEDB PASSWORD '${o.pgPassword}'`);
    await admin.query(`CREATE ROLE ${SANDBOX.stateRole} LOGIN PASSWORD '${SANDBOX.stateDatabasePassword}'`);
    for (const db of ['pachyderm', 'dex']) await admin.query(`CREATE DATABASE ${db} OWNER ${SANDBOX.pachydermRole}`);
    await admin.query(`CREATE DATABASE ${SANDBOX.stateDatabase} OWNER ${SANDBOX.stateRole}`);
  } finally {
    await admin.end();
  }
  const asOwner = (database: string) => {
    const url = new URL(o.postgresUrl);
    url.username = SANDBOX.pachydermRole;
    url.password = o.pgPassword;
    url.pathname = `/${database}`;
    return new pg.Client({ connectionString: url.toString() });
  };
  const dex = asOwner('dex');
  const pachyderm = asOwner('pachyderm');
  await Promise.all([dex.connect(), pachyderm.connect()]);
  const s3 = createS3Client({
    endpoint: o.s3Endpoint,
    region: 'us-east-1',
    bucket: SANDBOX.clusterBucket,
    prefix: '',
    forcePathStyle: true,
    credentials: { ...S3RVER_CREDENTIALS },
  });
  try {
    await seedDexDatabase(dex);
    await createPachydermSchema(pachyderm);
    await seedPachydermRows(pachyderm, o.size);
    const dataset = DATASETS[o.size];
    const chunks = await addChunks({ s3, bucket: SANDBOX.clusterBucket, db: pachyderm, count: dataset.objects, minBytes: dataset.minBytes, maxBytes: dataset.maxBytes });
    return { objects: chunks.length, bytes: chunks.reduce((sum, c) => sum + c.size, 0) };
  } finally {
    s3.destroy();
    await Promise.all([dex.end(), pachyderm.end()]);
  }
}
