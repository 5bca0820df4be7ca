/**
 * Backup benchmark (not a test), in one run: on the `bench` sandbox (thousands of chunk objects, hundreds of
 * MiB), a first and an incremental pachbackup backup — downtime, its breakdown, and the estimate announced
 * before each — next to the manual runbook on the same data (scale down, pg_dump both databases, `rclone sync`,
 * scale up, timed the same way); then all of it again with the `pachyderm` database 1 GB larger and ten times
 * the objects. Each backup runs in a process of its own, as a worker would (with the heap cap deploy/ gives
 * workers), so its peak memory is its own.
 *
 *   npm run bench            (PACHBACKUP_BENCH_SIZE=small for a quick run; PACHBACKUP_BENCH_LARGE=0 skips the larger size)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import type { BackupResult } from '../src/backup/run-backup.js';
import { loadConfig } from '../src/config/load-config.js';
import { formatBytes } from '../src/format-units.js';
import { libpqEnvironment } from '../src/postgres/connection.js';
import { findPgTool } from '../src/postgres/pg-tools.js';
import { createS3Client } from '../src/object-store/s3-client.js';
import type { DowntimeEstimate } from '../src/slack/views/view-models.js';
import { addChunks, DATASETS } from '../src/sandbox/seed/chunks.js';
import { benchSize as size, deployedNodeOptions, rclone, run, seconds, timed, withBenchSandbox } from './bench-support.js';

interface ChildBackup {
  result: BackupResult;
  steps: Record<string, number>;
  estimate: DowntimeEstimate;
  maxRssBytes: number;
}

const PAUSE_STEPS = ['pause', 'delta-copy', 'snapshot', 'resume'] as const;

await withBenchSandbox('bench', async (state, { dir }) => {
  const config = loadConfig(state.config);
  const cluster = config.clusters[state.cluster]!;
  const s3 = createS3Client(cluster.objectStore);
  const db = new pg.Client({ connectionString: state.postgres.url.replace(/\/postgres$/, '/pachyderm') });
  await db.connect();
  const kubectl = (args: string[]) => run('kubectl', ['--kubeconfig', state.kubernetes.kubeconfig, '-n', state.kubernetes.namespace, ...args], { maxBuffer: 1 << 24 });

  /** A backup in its own process (a fresh worker), into the backup store under `prefix`. */
  const backup = (prefix: string) =>
    new Promise<ChildBackup>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/backup-child.ts', state.config, state.cluster, prefix], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NODE_OPTIONS: deployedNodeOptions }, // the worker as deploy/ runs it: its heap cap
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) => {
        const line = out.trim().split('\n').at(-1) ?? '';
        if (code !== 0) return reject(new Error(`backup child exited ${code}: ${out}`));
        const parsed = JSON.parse(line) as ChildBackup;
        if (parsed.result.status !== 'succeeded') return reject(new Error(`backup ${parsed.result.status}: ${parsed.result.error}`));
        resolve(parsed);
      });
    });

  /**
   * The manual runbook, timed from the first scale-down to pachd ready again, as a person at a terminal would
   * run it: kubectl scale and wait, pg_dump each database, rclone sync the bucket into `target`, kubectl scale back.
   */
  const manual = async (target: string) => {
    const workers = JSON.parse((await kubectl(['get', 'rc', '-l', cluster.pachyderm.workerSelector, '-o', 'json'])).stdout) as { items: { metadata: { name: string }; spec: { replicas: number } }[] };
    const parts: Record<string, number> = {};
    const part = async (name: string, fn: () => Promise<unknown>) => (parts[name] = (await timed(fn)).ms);
    const { ms } = await timed(async () => {
      await part('scale down', async () => {
        await kubectl(['scale', 'deploy', cluster.pachyderm.deployment, ...cluster.pachyderm.quiesce, '--replicas=0']);
        await kubectl(['scale', 'rc', '-l', cluster.pachyderm.workerSelector, '--replicas=0']);
        for (const selector of ['app=pachd', 'app=pachw', cluster.pachyderm.workerSelector]) {
          await kubectl(['wait', '--for=delete', 'pod', '-l', selector, '--timeout=120s']).catch((err: { stderr?: string }) => {
            if (!err.stderr?.includes('no matching resources')) throw err; // already gone
          });
        }
      });
      await part('pg_dump', async () => {
        for (const database of cluster.postgres.databases) await run(findPgTool('pg_dump'), ['-Fc', '-f', join(dir, `${database}.dump`)], { env: libpqEnvironment(cluster.postgres, database) });
      });
      await part('rclone sync', async () => {
        const synced = await rclone(state, ['sync', `s3a:${cluster.objectStore.bucket}`, `s3a:${target}`]);
        if (synced.error) throw synced.error;
      });
      await part('scale up', async () => {
        await kubectl(['scale', 'deploy', cluster.pachyderm.deployment, ...cluster.pachyderm.quiesce, '--replicas=1']);
        for (const w of workers.items) await kubectl(['scale', 'rc', w.metadata.name, `--replicas=${w.spec.replicas}`]);
        await kubectl(['rollout', 'status', `deploy/${cluster.pachyderm.deployment}`, '--timeout=120s']);
      });
    });
    return { ms, parts };
  };

  const grow = async (objects: number, minBytes: number, maxBytes: number) => {
    const started = performance.now();
    const added = await addChunks({ s3, bucket: cluster.objectStore.bucket, db, count: objects, minBytes, maxBytes, concurrency: 32 });
    return { objects: added.length, bytes: added.reduce((n, o) => n + o.size, 0), ms: performance.now() - started };
  };
  const databaseBytes = async () => Number((await db.query<{ b: string }>(`SELECT pg_database_size('pachyderm')::text AS b`)).rows[0]!.b);

  /** One size: a first backup and the manual runbook, 1% more objects, an incremental backup and the runbook again. */
  const measure = async (label: string, prefix: string, target: string) => {
    await s3.send(new CreateBucketCommand({ Bucket: target }));
    const objectsBefore = (await db.query<{ n: string }>('SELECT count(*)::text AS n FROM storage.chunk_objects')).rows[0]!.n;
    const first = await backup(prefix);
    const manualFirst = await manual(target);
    const added = await grow(Math.max(1, Math.round(Number(objectsBefore) * 0.01)), DATASETS[size].minBytes, DATASETS[size].maxBytes);
    const incremental = await backup(prefix);
    const manualIncremental = await manual(target);
    return { label, objects: Number(objectsBefore), databaseBytes: await databaseBytes(), first, manualFirst, added, incremental, manualIncremental };
  };

  const beyond = (b: ChildBackup) => (b.result.downtimeSeconds ?? 0) - ((b.steps.pause ?? 0) + (b.steps.resume ?? 0)) / 1000;
  const estimated = (b: ChildBackup) => {
    const actual = b.result.downtimeSeconds ?? 0;
    const e = b.estimate;
    return `estimate ${e.expectedSeconds.toFixed(2)} s (${e.lowSeconds.toFixed(2)}–${e.highSeconds.toFixed(2)}, ${e.basis}) → actual ${actual.toFixed(2)} s, ${actual >= e.lowSeconds && actual <= e.highSeconds ? 'inside' : 'OUTSIDE'} the range`;
  };
  const row = (name: string, b: ChildBackup) =>
    [
      `  ${name.padEnd(12)} downtime ${seconds((b.result.downtimeSeconds ?? 0) * 1000).padStart(8)} = ${PAUSE_STEPS.map((s) => `${s} ${seconds(b.steps[s] ?? 0)}`).join(' + ')} + between steps`,
      `  ${''.padEnd(12)} beyond pause+resume ${seconds(beyond(b) * 1000)}; copied ${b.result.objects.copied} objects (${formatBytes(b.result.bytes.copied)}), ${b.result.objects.copiedWhilePaused} while paused; pre-copy ${seconds(b.steps['pre-copy'] ?? 0)}${b.steps['catch-up-copy'] !== undefined ? `, catch-up ${seconds(b.steps['catch-up-copy'])}` : ''}; dumps after the resume ${seconds(b.steps['dump-databases'] ?? 0)}`,
      `  ${''.padEnd(12)} ${estimated(b)}; worker peak memory ${formatBytes(b.maxRssBytes)}`,
    ].join('\n');
  const manualRow = (name: string, m: Awaited<ReturnType<typeof manual>>) =>
    `  ${name.padEnd(12)} downtime ${seconds(m.ms).padStart(8)} = ${Object.entries(m.parts).map(([k, v]) => `${k} ${seconds(v)}`).join(' + ')}`;

  /** Prints one size's figures as soon as they are measured (a long run that is stopped still shows them). */
  const report = (r: Awaited<ReturnType<typeof measure>>) => {
    console.log(`${r.label}: ${r.objects} objects, pachyderm database ${formatBytes(r.databaseBytes)}`);
    console.log(row('first', r.first));
    console.log(manualRow('manual first', r.manualFirst));
    console.log(`  (then ${r.added.objects} objects added, ${formatBytes(r.added.bytes)})`);
    console.log(row('incremental', r.incremental));
    console.log(manualRow('manual incr.', r.manualIncremental));
    console.log(
      `  ratios       first ÷ manual ${((r.first.result.downtimeSeconds! * 1000) / r.manualFirst.ms).toFixed(3)}, incremental ÷ manual ${((r.incremental.result.downtimeSeconds! * 1000) / r.manualIncremental.ms).toFixed(3)}\n`,
    );
  };

  console.log(`Cluster bucket: ${state.s3.objects} objects, ${formatBytes(state.s3.bytes)}; pod start/stop delay 500 ms\n`);
  const results = [await measure(`${size} size`, 'bench-1x', 'rclone-1x')];
  report(results[0]!);
  if (process.env.PACHBACKUP_BENCH_LARGE !== '0') {
    const before = await databaseBytes();
    const seeded = await timed(async () => {
      // ~1 GB of rows Pachyderm-shaped (protobuf-like bytea under the TOAST threshold), in one statement.
      await db.query(
        `INSERT INTO storage.filesets (id, metadata_pb)
           SELECT gen_random_uuid(), decode(repeat(md5(g::text || random()::text), 59), 'hex') FROM generate_series(1, 950000) g`,
      );
      return grow(state.s3.objects * 9, 1024, 4096);
    });
    console.log(
      `Larger: pachyderm database ${formatBytes(before)} → ${formatBytes(await databaseBytes())}, +${seeded.value.objects} objects (${formatBytes(seeded.value.bytes)}); seeded in ${seconds(seeded.ms)}\n`,
    );
    results.push(await measure('1 GB larger, 10× objects', 'bench-10x', 'rclone-10x'));
    report(results[1]!);
  }
  await db.end();
  s3.destroy();

  if (results.length === 2) {
    const [small, large] = results as [(typeof results)[0], (typeof results)[0]];
    console.log(`worker peak memory, first backup: ${formatBytes(large.first.maxRssBytes)} at 10× the objects vs ${formatBytes(small.first.maxRssBytes)} at 1× (${(large.first.maxRssBytes / small.first.maxRssBytes).toFixed(2)}×)`);
    console.log(`worker peak memory, incremental:  ${formatBytes(large.incremental.maxRssBytes)} at 10× the objects vs ${formatBytes(small.incremental.maxRssBytes)} at 1× (${(large.incremental.maxRssBytes / small.incremental.maxRssBytes).toFixed(2)}×)`);
  }
});
