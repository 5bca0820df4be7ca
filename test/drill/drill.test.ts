import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/catalog/manifest.js';
import { drillDepsFor } from '../../src/drill/drill-deps-for.js';
import { runDrill, type DrillResult } from '../../src/drill/run-drill.js';
import { newOperationId } from '../../src/restore/operation-id.js';
import { inspectDatabases } from '../../src/restore/target-databases.js';
import { createRunEvents, type RunEvent } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { backUp, inventoryOf, listAll, runCli } from '../restore/restore-fixtures.js';

describe('restore drills', () => {
  let f: PachydermFixture;
  let good: BackupManifest;

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 20 });
    ({ manifest: good } = await backUp(f));
  });
  afterAll(async () => f?.cleanup());

  async function drill(backupId?: string): Promise<{ result: DrillResult; events: RunEvent[] }> {
    const deps = drillDepsFor(f.cluster, f.state, { id: newOperationId('drill', 'test'), requestedBy: 'test', ...(backupId ? { backupId } : {}) });
    const events = createRunEvents();
    const seen: RunEvent[] = [];
    events.subscribe((e) => {
      seen.push(e);
    });
    try {
      return { result: await runDrill({ deps, events, log: quietLogger }), events: seen };
    } finally {
      deps.close();
    }
  }

  /** Nothing of any drill left: no scratch database, no object under drills/. */
  async function expectNoScratch(result: DrillResult): Promise<void> {
    expect(result.scratch?.databases).toHaveLength(2);
    const states = await inspectDatabases(f.cluster.postgres, result.scratch!.databases);
    expect(states.filter((s) => s.exists)).toEqual([]);
    expect([...(await listAll(f.backupBucket.s3, f.backupBucket.name, 'pachbackup/drills/')).keys()]).toEqual([]);
  }

  it('passes on a good backup, checking every table and object, and removes its scratch', async () => {
    const { result, events } = await drill();
    expect(result.ok, JSON.stringify(result.checks, null, 2)).toBe(true);
    expect(result).toMatchObject({ backupId: good.id, status: 'succeeded', cluster: 'test' });
    expect(result.checks.map((c) => c.name)).toEqual([
      `backup: dump ${f.pachydermDb.name}`,
      `backup: dump ${f.dexDb.name}`,
      'backup: helm values',
      'backup: objects',
      `restore ${f.pachydermDb.name}`,
      `restore ${f.dexDb.name}`,
      'copy objects',
      `rows of ${f.pachydermDb.name}`,
      `rows of ${f.dexDb.name}`,
      'objects landed',
      'scratch removed',
    ]);
    expect(result.checks.find((c) => c.name === 'objects landed')?.detail).toBe('all 20 inventory objects at their keys with their sizes');
    expect(result.scratch!.databases.every((d) => /_drill_[0-9a-f]{6}$/.test(d))).toBe(true);
    expect(events.some((e) => e.type === 'step-started' && e.downtime)).toBe(false);
    await expectNoScratch(result);
    expect(await f.state.runs.getRun(result.id)).toMatchObject({ kind: 'drill', phase: 'succeeded' });
  });

  it('exits 0 from the CLI on a good backup', async () => {
    const cli = await runCli(['drill', '--cluster', 'test', '--config', f.configFile, '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: true, backupId: good.id });
  });

  it('fails on a backup whose dump was corrupted, says which and why, still checks the rest, and cleans up', async () => {
    const { manifest: bad } = await backUp(f);
    const dump = bad.databases[0]!;
    await f.backupBucket.s3.send(new PutObjectCommand({ Bucket: f.backupBucket.name, Key: dump.key, Body: Buffer.alloc(dump.bytes, 1) }));

    const { result } = await drill();
    expect(result.backupId).toBe(bad.id); // the newest complete backup by default
    expect(result.ok).toBe(false);
    expect(result.status).toBe('failed');
    const failed = Object.fromEntries(result.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
    expect(Object.keys(failed)).toEqual([`backup: dump ${dump.name}`, `restore ${dump.name}`]);
    expect(failed[`restore ${dump.name}`]).toMatch(/sha256 mismatch .* do not restore it/);
    expect(result.checks.find((c) => c.name === `rows of ${f.dexDb.name}`)?.ok).toBe(true);
    expect(result.error).toMatch(/^Verdict: 2 checks failed/);
    await expectNoScratch(result);

    const cli = await runCli(['drill', bad.id, '--cluster', 'test', '--config', f.configFile, '--json']);
    expect(cli.code).not.toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: false, backupId: bad.id });
  });

  it('fails on a backup missing a pool object, naming it, and cleans up', async () => {
    const lost = (await inventoryOf(f, good))[7]!;
    await f.backupBucket.s3.send(new DeleteObjectCommand({ Bucket: f.backupBucket.name, Key: lost.storeKey }));
    const { result } = await drill(good.id);
    expect(result.ok).toBe(false);
    const failed = Object.fromEntries(result.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
    expect(failed['backup: objects']).toContain(`1 objects missing (first: ${lost.key})`);
    expect(failed['copy objects']).toMatch(/not found/);
    expect(result.checks.find((c) => c.name === `rows of ${f.pachydermDb.name}`)?.ok).toBe(true);
    await expectNoScratch(result);
  });
});
