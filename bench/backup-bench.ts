/**
 * Backup benchmark (not a test): on the `bench` sandbox (hundreds of MiB in thousands of chunk objects), the
 * downtime and copy throughput of a first and an incremental pachbackup backup, next to what the manual runbook
 * costs with the usual tools — `rclone sync` of the same bucket and a plain pg_dump of the same databases.
 *
 *   npm run bench            (PACHBACKUP_BENCH_SIZE=small for a quick run)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { runBackup, type BackupResult } from '../src/backup/run-backup.js';
import { newBackupId } from '../src/catalog/backup-layout.js';
import { loadConfig } from '../src/config/load-config.js';
import { formatBytes } from '../src/format-units.js';
import { createLogger } from '../src/log.js';
import { createS3Client } from '../src/object-store/s3-client.js';
import { findPgTool } from '../src/postgres/pg-tools.js';
import { libpqEnvironment } from '../src/postgres/connection.js';
import { createRunEvents, type RunEvent } from '../src/runner/run-event.js';
import { backupDepsFor } from '../src/runtime/backup-deps-for.js';
import { connectState } from '../src/runtime/connect-state.js';
import { sandboxDown } from '../src/sandbox/sandbox-down.js';
import { sandboxUp } from '../src/sandbox/sandbox-up.js';
import { addChunks, DATASETS } from '../src/sandbox/seed/chunks.js';

const run = promisify(execFile);
const size = process.env.PACHBACKUP_BENCH_SIZE === 'small' ? 'small' : 'bench';
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (bytes: number, ms: number) => (ms > 0 ? `${formatBytes((bytes / ms) * 1000)}/s` : '-');

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

const dir = mkdtempSync(join(tmpdir(), 'pachbackup-bench-'));
const logger = createLogger({ level: 'warn', destination: process.stderr });
console.log(`Starting the ${size} sandbox in ${dir} ...`);
const state = await sandboxUp({ dir, size, logger, podDelayMs: 500 });
try {
  const config = loadConfig(state.config);
  const cluster = config.clusters[state.cluster]!;
  const conn = await connectState(config);
  const stepTimes = new Map<string, number>();

  const backup = async (label: string): Promise<BackupResult & { steps: Map<string, number>; ms: number }> => {
    const events = createRunEvents();
    const steps = new Map<string, number>();
    events.subscribe((e: RunEvent) => {
      if (e.type === 'step-finished') steps.set(e.step, e.durationMs);
    });
    const deps = backupDepsFor(cluster, conn, { id: newBackupId(cluster.name), requestedBy: 'bench' });
    const { value, ms } = await timed(() => runBackup({ deps, events, log: logger }));
    deps.close();
    if (value.status !== 'succeeded') throw new Error(`${label} backup ${value.status}: ${value.error}`);
    for (const [k, v] of steps) stepTimes.set(`${label}:${k}`, v);
    return { ...value, steps, ms };
  };

  console.log(`Cluster bucket: ${state.s3.objects} objects, ${formatBytes(state.s3.bytes)}; pod start/stop delay 500 ms\n`);
  const first = await backup('first');
  const s3 = createS3Client(cluster.objectStore);
  const pachyderm = new (await import('pg')).default.Client({ connectionString: state.postgres.url.replace(/\/postgres$/, '/pachyderm') });
  await pachyderm.connect();
  const added = await addChunks({ s3, bucket: cluster.objectStore.bucket, db: pachyderm, count: Math.round(DATASETS[size].objects * 0.01), minBytes: DATASETS[size].minBytes, maxBytes: DATASETS[size].maxBytes });
  await pachyderm.end();
  const second = await backup('incremental');

  // The manual runbook's tools on the same data: rclone into an empty bucket (a full copy), then again (no-op).
  await s3.send(new CreateBucketCommand({ Bucket: 'rclone-target' }));
  const rcloneEnv = {
    ...process.env,
    RCLONE_CONFIG_S3A_TYPE: 's3',
    RCLONE_CONFIG_S3A_PROVIDER: 'Other',
    RCLONE_CONFIG_S3A_ENDPOINT: state.s3.endpoint,
    RCLONE_CONFIG_S3A_ACCESS_KEY_ID: state.s3.accessKeyId,
    RCLONE_CONFIG_S3A_SECRET_ACCESS_KEY: state.s3.secretAccessKey,
    RCLONE_CONFIG_S3A_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_S3A_REGION: 'us-east-1',
  } as NodeJS.ProcessEnv;
  delete rcloneEnv.AWS_CA_BUNDLE;
  const rclone = () => run('rclone', ['--config', '/dev/null', 'sync', `s3a:${cluster.objectStore.bucket}`, 's3a:rclone-target', '--transfers', '16', '--checkers', '16'], { env: rcloneEnv, maxBuffer: 1 << 24 });
  const rcloneFull = await timed(rclone).catch((err: Error) => ({ value: undefined, ms: NaN, err }));
  const rcloneNoop = await timed(rclone).catch((err: Error) => ({ value: undefined, ms: NaN, err }));

  // A plain pg_dump of each database to a local file, one after the other, as the runbook does.
  const pgDump = findPgTool('pg_dump');
  const dumps: { db: string; ms: number }[] = [];
  for (const db of cluster.postgres.databases) {
    const { ms } = await timed(() => run(pgDump, ['-Fc', '-f', join(dir, `${db}.dump`)], { env: libpqEnvironment(cluster.postgres, db) }));
    dumps.push({ db, ms });
  }
  s3.destroy();
  await conn.close();

  const downtimeSteps = ['pause', 'dump-databases', 'delta-copy', 'resume'];
  const row = (label: string, r: typeof first) =>
    `${label.padEnd(12)} downtime ${seconds((r.downtimeSeconds ?? 0) * 1000).padStart(8)}  (${downtimeSteps.map((s) => `${s} ${seconds(r.steps.get(s) ?? 0)}`).join(', ')})\n` +
    `${''.padEnd(12)} pre-copy ${seconds(r.steps.get('pre-copy') ?? 0).padStart(8)}: ${r.objects.copied - r.objects.copiedWhilePaused} objects, ${formatBytes(r.bytes.copied)} at ${rate(r.bytes.copied, r.steps.get('pre-copy') ?? 0)}; whole run ${seconds(r.ms)}`;
  const manualDowntime = rcloneFull.ms + dumps.reduce((n, d) => n + d.ms, 0);
  console.log('pachbackup');
  console.log(row('first', first));
  console.log(row('incremental', second));
  console.log(`${''.padEnd(12)} (incremental added ${added.length} objects, ${formatBytes(added.reduce((n, o) => n + o.size, 0))})`);
  console.log('\nmanual runbook, same data');
  console.log(`rclone sync  full copy ${seconds(rcloneFull.ms)} (${rate(state.s3.bytes, rcloneFull.ms)}), no-op re-sync ${seconds(rcloneNoop.ms)}`);
  console.log(`pg_dump      ${dumps.map((d) => `${d.db} ${seconds(d.ms)}`).join(', ')}`);
  console.log(`downtime     ~${seconds(manualDowntime)} (pg_dump of both databases + a full rclone copy while paused, before any scaling time)`);
} finally {
  await sandboxDown(dir);
  rmSync(dir, { recursive: true, force: true });
}
