import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import type { BackupManifest } from '../../src/catalog/manifest.js';
import { restoreDatabase } from '../../src/postgres/restore-database.js';
import { createRunEvents, type RunEvent } from '../../src/runner/run-event.js';
import { isProcessRunning } from '../../src/runtime/is-process-running.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { createTestDatabase } from '../support/services.js';

let fixture: PachydermFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

/** A client of the database that keeps inserting rows, one per commit, numbered, with when each was sent and acknowledged. */
async function startWriter(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE public.writer_log (seq bigint PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT clock_timestamp())');
  const rows: { seq: number; sentAt: number; ackedAt: number }[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let seq = 1; !stopped; seq++) {
      const sentAt = Date.now();
      await client.query('INSERT INTO public.writer_log (seq) VALUES ($1)', [seq]);
      rows.push({ seq, sentAt, ackedAt: Date.now() });
      await sleep(2);
    }
  })();
  return {
    rows,
    async stop() {
      stopped = true;
      await loop;
      await client.end();
    },
  };
}

async function restoredSeqs(f: PachydermFixture, manifest: BackupManifest): Promise<number[]> {
  const db = manifest.databases.find((d) => d.name === f.pachydermDb.name)!;
  const target = await createTestDatabase('restored');
  try {
    await restoreDatabase({
      postgres: f.cluster.postgres,
      database: target.name,
      source: { s3: f.backupBucket.s3, bucket: f.backupBucket.name, key: db.key },
      expectedSha256: db.sha256,
      signal: new AbortController().signal,
    });
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    const { rows } = await client.query<{ seq: string }>('SELECT seq FROM public.writer_log ORDER BY seq');
    await client.end();
    return rows.map((r) => Number(r.seq));
  } finally {
    await target.drop();
  }
}

describe('dumps consistent with the pause, taken after it', () => {
  it('hold every row committed before the pause and none committed after it, while rows are written during the dump', async () => {
    const f = (fixture = await createPachydermFixture());
    const writer = await startWriter(f.pachydermDb.url);
    let result;
    try {
      await sleep(100);
      result = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
      await sleep(100);
    } finally {
      await writer.stop();
    }
    expect(result.status, result.error).toBe('succeeded');
    const manifest = (await f.deps('x').catalog.readManifest('test', result.id))!;
    expect(manifest.databases.map((d) => d.source)).toEqual(['exported-snapshot', 'exported-snapshot']);
    const pausedAt = Date.parse(manifest.downtime.pausedAt);
    const resumedAt = Date.parse(manifest.downtime.resumedAt);
    const dumpFinishedAt = Date.parse(manifest.steps.find((s) => s.name === 'dump-databases')!.finishedAt!);

    // The dump ran while Pachyderm was back: the writer committed rows after the resume and before the dump ended.
    const duringDump = writer.rows.filter((r) => r.sentAt > resumedAt && r.ackedAt < dumpFinishedAt);
    expect(duringDump.length).toBeGreaterThan(0);

    const dumped = await restoredSeqs(f, manifest);
    const k = dumped.length;
    expect(dumped).toEqual(Array.from({ length: k }, (_, i) => i + 1)); // a prefix of the commits: one moment
    for (const row of writer.rows) {
      if (row.ackedAt < pausedAt) expect(row.seq, `row ${row.seq} was committed before the pause`).toBeLessThanOrEqual(k);
      if (row.sentAt > resumedAt) expect(row.seq, `row ${row.seq} was sent after the resume`).toBeGreaterThan(k);
    }
    expect(writer.rows.some((r) => r.seq > k)).toBe(true);
    // The drill's row counts come from the same snapshot as the dump.
    const counted = manifest.databases[0]!.tables.find((t) => t.schema === 'public' && t.table === 'writer_log');
    expect(counted?.rows).toBe(k);
  });

  it('dumps while paused where snapshots cannot be exported, says so in the run and records it in the manifest', async () => {
    const f = (fixture = await createPachydermFixture({
      editConfig: (config) => {
        config.clusters.test.postgres.user = 'backup_operator';
      },
    }));
    // A locked-down server: the backup role may read everything but not export snapshots.
    for (const db of [f.pachydermDb, f.dexDb]) {
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'backup_operator') THEN CREATE ROLE backup_operator LOGIN; END IF; END $$`);
      await admin.query('GRANT pg_read_all_data TO backup_operator');
      await admin.query('REVOKE EXECUTE ON FUNCTION pg_export_snapshot() FROM PUBLIC');
      await admin.end();
    }
    const seen: RunEvent[] = [];
    const events = createRunEvents();
    events.subscribe((e) => void seen.push(e));
    const result = await runBackup({ deps: f.deps(newBackupId('test')), events, log: quietLogger });
    expect(result.status, result.error).toBe('succeeded');
    expect(result.warnings.join('\n')).toMatch(/dumped while Pachyderm was paused.*permission denied for function pg_export_snapshot/);
    const manifest = (await f.deps('x').catalog.readManifest('test', result.id))!;
    expect(manifest.databases.map((d) => d.source)).toEqual(['while-paused', 'while-paused']);
    expect(manifest.databases[0]!.fallbackReason).toContain('pg_export_snapshot');
    const snapshotStep = seen.find((e) => e.type === 'step-finished' && e.step === 'snapshot') as Extract<RunEvent, { type: 'step-finished' }>;
    expect(snapshotStep.summary).toMatch(/dumped while paused/);
    expect(seen.find((e) => e.type === 'step-finished' && e.step === 'dump-databases')).toMatchObject({ state: 'skipped' });
    expect(manifest.databases[0]!.tables.length).toBeGreaterThan(5);
  });

  it('fails a run picked up after its worker died between the resume and the end of the dumps, saying why, and writes no manifest', async () => {
    const f = (fixture = await createPachydermFixture());
    // Enough data that the dump outlasts the moment the worker is killed.
    await f.pachyderm.query(`INSERT INTO storage.filesets (id, metadata_pb) SELECT gen_random_uuid(), convert_to(repeat(md5(random()::text), 64), 'UTF8') FROM generate_series(1, 60000)`);
    const before = await f.replicas();
    const child = spawn(process.execPath, ['bin/pachbackup.js', 'backup', '--config', f.configFile], { stdio: 'ignore' });
    let runId = '';
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the backup ended (${child.exitCode}) before it could be killed`);
        const { rows } = await f.state.pool.query<{ run_id: string }>(`SELECT run_id FROM run_steps WHERE name = 'resume' AND state = 'done'`);
        if (rows[0]) {
          child.kill('SIGKILL');
          runId = rows[0].run_id;
          break;
        }
        await sleep(5);
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
    const steps = await f.state.runs.getSteps(runId);
    expect(steps.find((s) => s.name === 'dump-databases')?.state).not.toBe('done');

    // What a worker does with the stalled job: take the dead holder's lock over and carry on from the checkpoints.
    expect(await f.state.locks.clearIfHolderDead('test', isProcessRunning)).toBe(true);
    const deps = f.deps(runId);
    deps.session.lock = await f.state.locks.acquire('test', { runId, kind: 'backup', requestedBy: 'test' });
    const retried = await runBackup({ deps, events: createRunEvents(), log: quietLogger });

    expect(retried.status).toBe('failed');
    expect(retried.error).toMatch(/Dump the databases: the database snapshots exported at the pause .* are gone/);
    expect(await f.deps('x').catalog.readManifest('test', runId)).toBeUndefined();
    expect(await f.replicas()).toEqual(before);
    expect(await f.cronJobSuspended('ingest-uploads')).toBe(false);
  }, 120_000);
});
