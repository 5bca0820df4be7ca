/**
 * Restore benchmark (not a test): on the `bench` sandbox (hundreds of MiB in thousands of chunk objects), one
 * backup, then damage (a dropped table, 1% of the objects deleted) and two pachbackup restores — in place (the
 * cluster's own databases and bucket: the outage users see) and beside the cluster (new databases, a new bucket:
 * no outage, a full copy) — next to what the manual runbook costs with the usual tools: pg_restore of the two
 * dumps into fresh databases and `rclone copy` of the backup's objects into a bucket, all while Pachyderm is down.
 *
 *   npm run bench:restore            (PACHBACKUP_BENCH_SIZE=small for a quick run)
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { runBackup } from '../src/backup/run-backup.js';
import { backupFiles, newBackupId, storePath } from '../src/catalog/backup-layout.js';
import { loadConfig } from '../src/config/load-config.js';
import { formatBytes } from '../src/format-units.js';
import { listObjects } from '../src/object-store/list-objects.js';
import { createS3Client } from '../src/object-store/s3-client.js';
import { libpqEnvironment } from '../src/postgres/connection.js';
import { findPgTool } from '../src/postgres/pg-tools.js';
import { newOperationId } from '../src/restore/operation-id.js';
import { restoreDepsFor } from '../src/restore/restore-deps-for.js';
import { planRestore } from '../src/restore/restore-plan.js';
import type { RestoreRequest } from '../src/restore/restore-request.js';
import { runRestore, type RestoreResult } from '../src/restore/run-restore.js';
import { createRunEvents, type RunEvent } from '../src/runner/run-event.js';
import { backupDepsFor } from '../src/runtime/backup-deps-for.js';
import { connectState } from '../src/runtime/connect-state.js';
import { rate, rclone, run, seconds, timed, withBenchSandbox } from './bench-support.js';

await withBenchSandbox('restore-bench', async (state, { dir, logger }) => {
  const config = loadConfig(state.config);
  const cluster = config.clusters[state.cluster]!;
  const conn = await connectState(config);
  const s3 = createS3Client(cluster.objectStore);

  const backupDeps = backupDepsFor(cluster, conn, { id: newBackupId(cluster.name), requestedBy: 'bench' });
  const backup = await runBackup({ deps: backupDeps, events: createRunEvents(), log: logger });
  backupDeps.close();
  if (backup.status !== 'succeeded') throw new Error(`backup ${backup.status}: ${backup.error}`);

  const restore = async (request: Omit<RestoreRequest, 'backupId'>): Promise<RestoreResult & { steps: Map<string, number>; ms: number }> => {
    const deps = restoreDepsFor(config, cluster, conn, { id: newOperationId('restore', cluster.name), backupId: backup.id, requestedBy: 'bench' });
    try {
      const plan = await planRestore({ env: deps, request: { backupId: backup.id, ...request } });
      if (plan.refusals.length > 0) throw new Error(`plan refused: ${plan.refusals.join('; ')}`);
      const events = createRunEvents();
      const steps = new Map<string, number>();
      events.subscribe((e: RunEvent) => {
        if (e.type === 'step-finished') steps.set(e.step, e.durationMs);
      });
      const { value, ms } = await timed(() => runRestore({ deps, plan, events, log: logger }));
      if (value.status !== 'succeeded') throw new Error(`restore ${value.status}: ${value.error}`);
      return { ...value, steps, ms };
    } finally {
      deps.close();
    }
  };

  // The damage: a dropped table and 1% of the objects deleted.
  const pachyderm = new (await import('pg')).default.Client({ connectionString: state.postgres.url.replace(/\/postgres$/, '/pachyderm') });
  await pachyderm.connect();
  await pachyderm.query('DROP TABLE auth.role_bindings');
  await pachyderm.end();
  const keys: string[] = [];
  for await (const o of listObjects(s3, cluster.objectStore.bucket, '')) keys.push(o.key);
  const lost = keys.filter((_, i) => i % 100 === 0);
  await s3.send(new DeleteObjectsCommand({ Bucket: cluster.objectStore.bucket, Delete: { Objects: lost.map((Key) => ({ Key })) } }));

  console.log(`Backup ${backup.id}: ${backup.objects.total} objects, ${formatBytes(backup.bytes.total)}; databases ${backup.databases.map((d) => `${d.name} ${formatBytes(d.bytes)}`).join(', ')}; pod start/stop delay 500 ms`);
  console.log(`Damage: auth.role_bindings dropped, ${lost.length} objects deleted\n`);
  const inPlace = await restore({ databases: { kind: 'original' }, objects: { kind: 'cluster-bucket' }, overwrite: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'restored-beside' }));
  const beside = await restore({ databases: { kind: 'new', suffix: 'bench' }, objects: { kind: 'bucket', bucket: 'restored-beside' } });

  // The manual runbook, same backup: fetch the dumps, pg_restore each into a new database, rclone the objects.
  const backupS3 = createS3Client(cluster.backupStore);
  const pgRestore = findPgTool('pg_restore');
  const manual: { what: string; ms: number }[] = [];
  for (const db of backup.databases) {
    const file = join(dir, `${db.name}.dump`);
    const key = backupFiles.dump(cluster.backupStore, cluster.name, backup.id, db.name);
    const res = await backupS3.send(new GetObjectCommand({ Bucket: cluster.backupStore.bucket, Key: key }));
    await pipeline(res.Body as Readable, createWriteStream(file));
    const target = `${db.name}_manual`;
    const { ms } = await timed(async () => {
      await run(findPgTool('psql'), ['-c', `CREATE DATABASE ${target}`], { env: libpqEnvironment(cluster.postgres, 'postgres') });
      await run(pgRestore, ['--no-owner', '-j', '2', '-d', target, file], { env: libpqEnvironment(cluster.postgres, target) });
    });
    manual.push({ what: `pg_restore ${db.name}`, ms });
  }
  await s3.send(new CreateBucketCommand({ Bucket: 'rclone-restored' }));
  const copy = await rclone(state, ['copy', `s3a:${cluster.backupStore.bucket}/${storePath(cluster.backupStore, 'objects')}`, 's3a:rclone-restored']);
  manual.push({ what: 'rclone copy of the objects', ms: copy.ms });
  backupS3.destroy();
  s3.destroy();
  await conn.close();

  const row = (label: string, r: typeof inPlace, shown: string[]) =>
    `${label.padEnd(10)} downtime ${r.downtimeSeconds === null ? 'none'.padStart(8) : seconds(r.downtimeSeconds * 1000).padStart(8)}; whole run ${seconds(r.ms)}; ` +
    `${r.objects.copied} objects copied (${formatBytes(r.objects.copiedBytes)}${r.steps.get('copy-objects') ? ` at ${rate(r.objects.copiedBytes, r.steps.get('copy-objects')!)}` : ''})\n` +
    `${''.padEnd(10)} ${shown.filter((s) => r.steps.has(s)).map((s) => `${s} ${seconds(r.steps.get(s)!)}`).join(', ')}`;
  console.log('pachbackup restore');
  console.log(row('in place', inPlace, ['restore-databases', 'copy-objects', 'pause', 'copy-delta', 'swap-databases', 'helm-values', 'resume']));
  console.log(row('beside', beside, ['restore-databases', 'copy-objects', 'swap-databases', 'helm-values']));
  console.log('\nmanual runbook, same backup (everything while Pachyderm is down)');
  for (const m of manual) console.log(`${m.what.padEnd(28)} ${seconds(m.ms)}`);
  console.log(`${'downtime'.padEnd(28)} ~${seconds(manual.reduce((n, m) => n + m.ms, 0))} (before any scaling time and the helm upgrade)`);
});
