import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { loadConfig } from '../config/load-config.js';
import { PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import { createS3Client } from '../object-store/s3-client.js';
import { kubeconfigFor } from './kube-sim/kubeconfig.js';
import { freePort, isRunning, nodeEntry, startProcess, stopProcess, waitForLogLine, waitForPort } from './processes.js';
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
}

/** Our own entry modules, run as processes (compiled .js, or .ts through tsx in development). */
function entry(relative: string): { command: string; args: string[] } {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return nodeEntry(new URL(`${relative}${ext}`, import.meta.url));
}

/**
 * Starts the whole sandbox: PostgreSQL, Redis, s3rver, the Kubernetes and Slack simulators, seeded like a
 * Pachyderm 2.x cluster, and writes `sandbox.json` and the pachbackup config. On any failure everything started
 * so far is stopped again, so a failed `up` leaves nothing running.
 */
export async function sandboxUp(options: SandboxUpOptions): Promise<SandboxState> {
  const dir = resolve(options.dir);
  const log = options.logger;
  const existing = readSandboxState(dir);
  if (existing && Object.values(existing.pids).some(isRunning)) {
    throw new PachbackupError('conflict', `a sandbox is already running from ${dir}`, { hint: 'use it, or stop it first with `pachbackup sandbox down`' });
  }
  for (const sub of ['postgres', 'redis', 's3', 'secrets']) rmSync(join(dir, sub), { recursive: true, force: true });
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  mkdirSync(join(dir, 'redis'), { recursive: true });
  const secretsDir = join(dir, 'secrets');
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });

  const pids: Record<string, number> = {};
  try {
    log.info({ size: options.size }, 'starting PostgreSQL, Redis and s3rver');
    const [postgres, redis, s3] = await Promise.all([
      startPostgres({ dataDir: join(dir, 'postgres') }).then((p) => ((pids.postgres = p.pid), p)),
      startRedis({ directory: join(dir, 'redis'), logFile: join(logs, 'redis.log'), password: SANDBOX.redisPassword }).then((r) => ((pids.redis = r.pid), r)),
      startS3({ directory: join(dir, 's3'), buckets: [SANDBOX.clusterBucket, SANDBOX.backupBucket], logFile: join(logs, 's3.log') }).then(
        (s) => ((pids.s3 = s.pid), s),
      ),
    ]);

    const pgPassword = 'sandbox-pachyderm-password';
    const stateDatabaseUrl = `postgres://${SANDBOX.stateRole}@127.0.0.1:${postgres.port}/${SANDBOX.stateDatabase}`;
    log.info('seeding the pachyderm and dex databases and the cluster bucket');
    const seeded = await seedState({ postgresUrl: postgres.url, pgPassword, s3Endpoint: s3.endpoint, size: options.size });

    const helmValuesFile = join(dir, 'helm-values.yaml');
    writeFileSync(helmValuesFile, stringify(sandboxHelmValues({ postgresPort: postgres.port, s3Endpoint: s3.endpoint })));
    const [kubePort, slackPort, appPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const eventsUrl = `http://127.0.0.1:${appPort}/slack/events`;

    const kube = entry('./kube-sim/main');
    const kubeProc = startProcess(
      kube.command,
      [...kube.args, '--port', String(kubePort), '--namespace', SANDBOX.namespace, '--helm-values', helmValuesFile, '--pod-delay-ms', String(options.podDelayMs ?? 500), '--postgres-password', pgPassword],
      { logFile: join(logs, 'kubernetes.log') },
    );
    pids.kubernetes = kubeProc.pid;
    const slack = entry('./slack-sim/main');
    const slackProc = startProcess(
      slack.command,
      [...slack.args, '--port', String(slackPort), '--signing-secret', SANDBOX.signingSecret, '--bot-token', SANDBOX.botToken, '--app-events-url', eventsUrl],
      { logFile: join(logs, 'slack.log') },
    );
    pids.slack = slackProc.pid;
    await Promise.all([
      waitForPort(kubePort, { name: 'Kubernetes simulator', isAlive: kubeProc.alive }),
      waitForPort(slackPort, { name: 'Slack simulator', isAlive: slackProc.alive }),
    ]);

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
      stateDatabasePassword: secret('state-database-password', SANDBOX.stateDatabasePassword),
      redisPassword: secret('redis-password', SANDBOX.redisPassword),
    };
    const configFile = join(dir, 'pachbackup.yaml');
    const slackApiUrl = `http://127.0.0.1:${slackPort}/api/`;
    writeFileSync(
      configFile,
      renderSandboxConfig({ postgresPort: postgres.port, caFile: postgres.caFile, redisUrl: redis.url, stateDatabaseUrl, s3Endpoint: s3.endpoint, kubeconfig, slackApiUrl, appPort, secrets }),
    );
    loadConfig(configFile); // the generated config must pass the same validation as a hand-written one

    // The bot itself: the Slack app and a worker, as separate processes, on the generated config.
    const cli = entry('../cli/main');
    const botEnv = { ...process.env, LOG_LEVEL: 'info', PACHBACKUP_LISTEN_HOST: '127.0.0.1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const [appMetricsPort, workerMetricsPort] = await Promise.all([freePort(), freePort()]);
    const appProc = startProcess(cli.command, [...cli.args, 'serve', '--config', configFile], { logFile: join(logs, 'app.log'), env: { ...botEnv, PACHBACKUP_METRICS_PORT: String(appMetricsPort) } });
    pids.app = appProc.pid;
    const workerLog = join(logs, 'worker.log');
    const workerProc = startProcess(cli.command, [...cli.args, 'worker', '--config', configFile], { logFile: workerLog, env: { ...botEnv, PACHBACKUP_METRICS_PORT: String(workerMetricsPort) } });
    pids.worker = workerProc.pid;
    await Promise.all([waitForPort(appPort, { name: 'pachbackup serve', isAlive: appProc.alive, timeoutMs: 60_000 }), waitForLogLine(workerLog, 'worker is running', workerProc.alive)]);

    const state: SandboxState = {
      config: configFile,
      cluster: SANDBOX.cluster,
      size: options.size,
      startedAt: new Date().toISOString(),
      dir,
      postgres: { url: postgres.url, port: postgres.port, caFile: postgres.caFile, databases: ['pachyderm', 'dex'], stateDatabaseUrl, stateDatabasePassword: SANDBOX.stateDatabasePassword },
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
        apiUrl: slackApiUrl,
        messagesUrl: `http://127.0.0.1:${slackPort}/messages`,
        eventsUrl,
        signingSecret: SANDBOX.signingSecret,
        botToken: SANDBOX.botToken,
        opsChannel: SANDBOX.opsChannel,
        announceChannel: SANDBOX.announceChannel,
        operators: [...SANDBOX.operators],
        approvers: [...SANDBOX.approvers],
      },
      pids,
    };
    writeSandboxState(dir, state);
    return state;
  } catch (err) {
    log.error({ err }, 'sandbox up failed; stopping what was started');
    await stopAll(pids);
    throw err;
  }
}

/** Stops processes in reverse start order; PostgreSQL gets SIGINT (its fast shutdown). */
export async function stopAll(pids: Record<string, number>): Promise<void> {
  for (const [name, pid] of Object.entries(pids).reverse()) {
    await stopProcess(pid, { signal: name === 'postgres' ? 'SIGINT' : 'SIGTERM', timeoutMs: 15_000 });
  }
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
