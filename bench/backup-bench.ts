/**
 * Backup benchmark (not a test): on the `bench` sandbox (hundreds of MiB in thousands of chunk objects), the
 * downtime and copy throughput of a first and an incremental pachbackup backup, next to what the manual runbook
 * costs with the usual tools — `rclone sync` of the same bucket and a plain pg_dump of the same databases.
 *
 *   npm run bench            (PACHBACKUP_BENCH_SIZE=small for a quick run)
 */
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { runBackup, type BackupResult } from '../src/backup/run-backup.js';
import { newBackupId } from '../src/catalog/backup-layout.js';
import { loadConfig } from '../src/config/load-config.js';
import { formatBytes } from '../src/format-units.js';
import { createS3Client } from '../src/object-store/s3-client.js';
import { findPgTool } from '../src/postgres/pg-tools.js';
import { libpqEnvironment } from '../src/postgres/connection.js';
import { createRunEvents, type RunEvent } from '../src/runner/run-event.js';
import { backupDepsFor } from '../src/runtime/backup-deps-for.js';
import { connectState } from '../src/runtime/connect-state.js';
import { addChunks, DATASETS } from '../src/sandbox/seed/chunks.js';
import { benchSize as size, rate, rclone, run, seconds, timed, withBenchSandbox } from './bench-support.js';

await withBenchSandbox('bench', async (state, { dir, logger }) => {
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
  const sync = () => rclone(state, ['sync', `s3a:${cluster.objectStore.bucket}`, 's3a:rclone-target']);
  const rcloneFull = await sync();
  const rcloneNoop = await sync();

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
});
