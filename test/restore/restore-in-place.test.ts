import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { tableChecksums } from '../../src/postgres/server-info.js';
import { planRestore } from '../../src/restore/restore-plan.js';
import { inspectDatabases } from '../../src/restore/target-databases.js';
import { runRestore } from '../../src/restore/run-restore.js';
import { createRunEvents, type RunEvent } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { backUp, inventoryOf, listAll, restoreDeps } from './restore-fixtures.js';

let f: PachydermFixture | undefined;
let g: PachydermFixture | undefined;
afterAll(async () => {
  await f?.cleanup();
  await g?.cleanup();
});

describe('a restore in place, over the cluster\'s own databases and bucket', () => {
  it('pauses the cluster only around the swap, resumes it ready, and leaves exactly the backup\'s data', async () => {
    f = await createPachydermFixture({ objects: 30 });
    const fixture = f;
    const before = await fixture.replicas();
    const checksums = new Map(await Promise.all([fixture.pachydermDb, fixture.dexDb].map(async (db) => [db.name, await tableChecksums(db.url, db.name)] as const)));
    const { manifest } = await backUp(fixture);
    const inventory = await inventoryOf(fixture, manifest);

    // The damage, after the backup: a dropped table, lost rows, deleted chunks, and a chunk written later.
    await fixture.pachyderm.query('DROP TABLE pfs.commits CASCADE');
    await fixture.pachyderm.query('DELETE FROM storage.keys');
    for (const e of inventory.slice(3, 7)) await fixture.clusterBucket.s3.send(new DeleteObjectCommand({ Bucket: fixture.clusterBucket.name, Key: e.key }));
    await fixture.clusterBucket.s3.send(new PutObjectCommand({ Bucket: fixture.clusterBucket.name, Key: 'chunk/ffff-written-after-the-backup', Body: 'later' }));

    const deps = restoreDeps(fixture, manifest.id, 'alice');
    try {
      const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'original' }, objects: { kind: 'cluster-bucket' }, overwrite: true } });
      expect(plan.refusals).toEqual([]);
      expect(plan.inPlace).toBe(true);
      expect(plan.pause.needed).toBe(true);
      expect(plan.databases.map((d) => [d.target, d.live, d.replaces])).toEqual([
        [fixture.pachydermDb.name, true, true],
        [fixture.dexDb.name, true, true],
      ]);

      const events = createRunEvents();
      const seen: RunEvent[] = [];
      events.subscribe((e) => {
        seen.push(e);
      });
      const result = await runRestore({ deps, plan, events, log: quietLogger });
      expect(result.status, result.error).toBe('succeeded');

      const finished = seen.filter((e) => e.type === 'step-finished').map((e) => (e as { step: string }).step);
      expect(finished).toEqual(['check-plan', 'verify', 'restore-databases', 'copy-objects', 'pause', 'copy-delta', 'swap-databases', 'helm-values', 'resume']);
      const downtime = seen.filter((e) => e.type === 'step-started' && e.downtime).map((e) => (e as { step: string }).step);
      expect(downtime).toEqual(['pause', 'copy-delta', 'swap-databases', 'helm-values', 'resume']);
      // The slow part runs beside the live cluster; the swap runs between the pause (which waits until no pod is
      // left) and the resume.
      const at = (type: RunEvent['type'], step: string) => seen.findIndex((e) => e.type === type && (e as { step?: string }).step === step);
      expect(at('step-finished', 'restore-databases')).toBeLessThan(at('step-started', 'pause'));
      expect(at('step-finished', 'pause')).toBeLessThan(at('step-started', 'swap-databases'));
      expect(at('step-finished', 'swap-databases')).toBeLessThan(at('step-started', 'resume'));
      const pause = (await fixture.state.runs.getSteps(result.id)).find((s) => s.name === 'pause');
      expect((pause?.output as { pause: { recorded: { pachd: { replicas: number } } } }).pause.recorded.pachd.replicas).toBe(1);
      expect(await fixture.replicas()).toEqual(before);
      expect(result.downtimeSeconds).toBeGreaterThan(0);
      expect(result.databases.map((d) => [d.target, d.replaced])).toEqual([
        [fixture.pachydermDb.name, true],
        [fixture.dexDb.name, true],
      ]);

      for (const db of [fixture.pachydermDb, fixture.dexDb]) expect(await tableChecksums(fixture.cluster.postgres, db.name)).toEqual(checksums.get(db.name));
      const listed = await listAll(fixture.clusterBucket.s3, fixture.clusterBucket.name);
      for (const e of inventory) expect(listed.get(e.key)).toBe(e.size);
      expect(listed.has('chunk/ffff-written-after-the-backup')).toBe(true); // not the backup's, left alone
      expect(result.objects).toMatchObject({ total: 30, copied: 4 });
    } finally {
      deps.close();
    }
  });

  it('cancelled while paused, resumes the cluster and leaves its databases as they were, without staging copies', async () => {
    g = await createPachydermFixture({ objects: 10 });
    const fixture = g;
    const before = await fixture.replicas();
    const { manifest } = await backUp(fixture);
    await fixture.pachyderm.query('DROP TABLE pfs.commits CASCADE');
    const damaged = new Map(await Promise.all([fixture.pachydermDb, fixture.dexDb].map(async (db) => [db.name, await tableChecksums(db.url, db.name)] as const)));
    const deps = restoreDeps(fixture, manifest.id);
    try {
      const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'original' }, overwrite: true } });
      const cancel = new AbortController();
      const events = createRunEvents();
      const undone: string[] = [];
      events.subscribe((e) => {
        if (e.type === 'step-started' && e.step === 'copy-delta') cancel.abort();
        if (e.type === 'undo-finished') undone.push(`${e.step}:${e.state}`);
      });
      const result = await runRestore({ deps, plan, events, log: quietLogger, signal: cancel.signal });
      expect(result.status).toBe('cancelled');
      expect(undone).toEqual(['pause:undone', 'restore-databases:undone']);
      expect(await fixture.replicas()).toEqual(before);
      for (const db of [fixture.pachydermDb, fixture.dexDb]) expect(await tableChecksums(fixture.cluster.postgres, db.name)).toEqual(damaged.get(db.name));
      const staging = await inspectDatabases(fixture.cluster.postgres, [fixture.pachydermDb, fixture.dexDb].map((db) => `${db.name}_restoring_${result.id.slice(-6)}`));
      expect(staging.map((s) => s.exists)).toEqual([false, false]);
    } finally {
      deps.close();
    }
  });
});
