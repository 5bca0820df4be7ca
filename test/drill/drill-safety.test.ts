import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/catalog/manifest.js';
import { drillDepsFor } from '../../src/drill/drill-deps-for.js';
import { drillLockName, drillScratch } from '../../src/drill/drill-steps.js';
import { runDrill, type DrillResult } from '../../src/drill/run-drill.js';
import { newOperationId } from '../../src/restore/operation-id.js';
import { dropDatabaseIfExists, inspectDatabases } from '../../src/restore/target-databases.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { backUp, listAll, runCli } from '../restore/restore-fixtures.js';

/** A drill restores into scratch on the cluster's own PostgreSQL server: it must never touch what is not its own. */
describe('drills keep to their own scratch', () => {
  let f: PachydermFixture;
  let backup: BackupManifest;

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 10 });
    ({ manifest: backup } = await backUp(f));
  }, 180_000);
  afterAll(async () => f?.cleanup());

  async function drill(id = newOperationId('drill', 'test')): Promise<DrillResult> {
    const deps = drillDepsFor(f.cluster, f.state, { id, requestedBy: 'test' });
    try {
      return await runDrill({ deps, events: createRunEvents(), log: quietLogger });
    } finally {
      deps.close();
    }
  }

  it('names its scratch databases and prefix after the drill', async () => {
    const id = newOperationId('drill', 'test');
    const result = await drill(id);
    expect(result.ok, JSON.stringify(result.checks, null, 2)).toBe(true);
    const short = /-([0-9a-f]{6})$/.exec(id)![1]!;
    expect(result.scratch!.databases).toEqual([`${f.pachydermDb.name}_drill_${short}`, `${f.dexDb.name}_drill_${short}`]);
    expect(result.scratch!.prefix).toContain(`drills/${id}/`);
  });

  it('never drops a database it did not create, even one with its scratch name, and says why it stopped', async () => {
    const id = newOperationId('drill', 'test');
    // Someone's database that happens to have the name this drill's scratch would get, with data in it.
    const taken = drillScratch({ drillId: id, backup: { s3: f.backupBucket.s3, store: f.cluster.backupStore, cluster: 'test' } }, backup).databases[1]!.scratch;
    await createOwnDatabase(taken);
    try {
      const result = await drill(id);
      expect(result.ok).toBe(false);
      const reasons = result.checks.filter((c) => !c.ok).map((c) => c.detail).join('\n');
      expect(reasons).toMatch(new RegExp(`database "${taken}" already exists: a drill never uses or drops a database it did not create`));
      // It is still there, with its data; the scratch this drill did create is gone.
      expect(await rowsIn(taken)).toEqual([{ note: 'not the drill’s' }]);
      const own = result.scratch!.databases.filter((d) => d !== taken);
      expect((await inspectDatabases(f.cluster.postgres, own)).filter((s) => s.exists)).toEqual([]);
      expect([...(await listAll(f.backupBucket.s3, f.backupBucket.name, `pachbackup/drills/${id}/`)).keys()]).toEqual([]);
    } finally {
      await dropDatabaseIfExists(f.cluster.postgres, taken);
    }
  });

  it('runs one drill per cluster at a time, saying which one runs, in the CLI as in the worker', async () => {
    // A drill holds the cluster's drill lock while it runs (here: taken by hand, as a running drill holds it).
    const running = await f.state.locks.acquire(drillLockName('test'), { runId: 'test-20261203t000000z-drill-aaaaaa', kind: 'drill', requestedBy: '<@U0OPS1>' });
    try {
      const refused = await drill();
      expect(refused).toMatchObject({ ok: false, status: 'failed-validation' });
      expect(refused.error).toMatch(/a drill of test is already running: drill test-20261203t000000z-drill-aaaaaa requested by <@U0OPS1> since/);
      expect(refused.scratch).toBeUndefined();
      expect((await f.state.runs.getRun(refused.id))?.phase).toBe('failed-validation');

      const cli = await runCli(['drill', '--cluster', 'test', '--config', f.configFile]);
      expect(cli.code).toBe(1);
      expect(`${cli.stdout}\n${cli.stderr}`).toMatch(/a drill of test is already running: drill test-20261203t000000z-drill-aaaaaa/);
    } finally {
      await running.release();
    }
    // Once it is done, the next one runs.
    expect((await drill()).ok).toBe(true);
  }, 180_000);

  async function createOwnDatabase(name: string): Promise<void> {
    const admin = new pg.Client({ connectionString: f.pachydermDb.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    const own = new pg.Client({ connectionString: f.pachydermDb.url.replace(/\/[^/?]+(\?|$)/, `/${name}$1`) });
    await own.connect();
    try {
      await own.query(`CREATE TABLE notes (note text); INSERT INTO notes VALUES ('not the drill’s')`);
    } finally {
      await own.end();
    }
  }

  async function rowsIn(name: string): Promise<unknown[]> {
    const own = new pg.Client({ connectionString: f.pachydermDb.url.replace(/\/[^/?]+(\?|$)/, `/${name}$1`) });
    await own.connect();
    try {
      return (await own.query('SELECT note FROM notes')).rows;
    } finally {
      await own.end();
    }
  }
});
