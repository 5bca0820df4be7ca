import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { verifyBackup } from '../../src/backup/verify-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { listPool } from '../../src/object-store/pool-listing.js';
import { planRetention } from '../../src/retention/plan-retention.js';
import { runRetention } from '../../src/retention/run-retention.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';

describe('retention', () => {
  let f: PachydermFixture;
  const backups: BackupResult[] = [];
  /** Objects that only the second backup references: added before it, deleted from the cluster before the third. */
  let onlyInSecond: string[] = [];

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 30, editConfig: (c) => (c.clusters.test.retention = { keepLast: 2, incompleteAfterHours: 1 }) });
    const backup = async () => {
      const r = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
      expect(r.status, r.error).toBe('succeeded');
      backups.push(r);
    };
    const churn = async () => {
      // Pachyderm's GC deletes chunks; new ones arrive.
      const added = await f.addObjects(5);
      return added.map((o) => o.key);
    };
    await backup();
    onlyInSecond = await churn();
    await backup();
    await f.clusterBucket.s3.send(new DeleteObjectsCommand({ Bucket: f.clusterBucket.name, Delete: { Objects: onlyInSecond.map((Key) => ({ Key })) } }));
    await churn();
    await backup();
    await churn();
    await backup();
    await f.deps('x').catalog.writePin('test', { backupId: backups[0]!.id, pinnedBy: 'test', pinnedAt: new Date().toISOString(), reason: 'before the upgrade' });
    // A failed backup's leftovers.
    await f.backupBucket.s3.send(new PutObjectCommand({ Bucket: f.backupBucket.name, Key: 'pachbackup/backups/test/test-20200101t000000z-dead/postgres/pachyderm.dump', Body: 'partial' }));
  }, 180_000);
  afterAll(async () => f?.cleanup());

  it('plans: the newest N, the young, the pinned and the newest are kept', () => {
    const now = new Date('2026-11-24T12:00:00Z');
    const at = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();
    const plan = planRetention(
      [
        { id: 'a', completedAt: at(100), pinned: true },
        { id: 'b', completedAt: at(80), pinned: false },
        { id: 'c', completedAt: at(30), pinned: false },
        { id: 'd', completedAt: at(1), pinned: false },
      ],
      { keepLast: 1, keepDays: 2 },
      now,
    );
    expect(plan.keep.map((k) => k.id)).toEqual(['d', 'c', 'a']);
    expect(plan.remove.map((r) => r.id)).toEqual(['b']);
    expect(planRetention([{ id: 'x', completedAt: at(1000), pinned: false }], { keepLast: 1 }, now).remove).toEqual([]);
    expect(planRetention([{ id: 'x', completedAt: at(1000), pinned: false }, { id: 'y', completedAt: at(900), pinned: false }], {}, now).remove).toEqual([]);
  });

  it('shows in a dry run what would go, and deletes nothing', async () => {
    const poolBefore = await poolKeys();
    const result = await runRetention({ cluster: f.cluster, s3: f.backupBucket.s3, catalog: f.deps('x').catalog, locks: f.state.locks, requestedBy: 'test', dryRun: true, now: hoursFromNow(25) });
    expect(result.plan.remove.map((r) => r.id)).toEqual([backups[1]!.id]);
    expect(result.incomplete, JSON.stringify(await f.deps('x').catalog.list('test').then((l) => l.incomplete))).toEqual(['test-20200101t000000z-dead']);
    expect(result.pool.objects).toBe(onlyInSecond.length);
    expect((await f.deps('x').catalog.list('test')).backups).toHaveLength(4);
    expect(await poolKeys()).toEqual(poolBefore);
  });

  it('keeps unreferenced pool objects younger than retention.poolGraceHours (24 h by default)', async () => {
    const result = await runRetention({ cluster: f.cluster, s3: f.backupBucket.s3, catalog: f.deps('x').catalog, locks: f.state.locks, requestedBy: 'test', dryRun: true, now: hoursFromNow(23) });
    expect(result.pool.objects).toBe(0);
    expect(result.pool.young).toBe(onlyInSecond.length);
  });

  it('deletes the backups the policy drops and only the pool objects no kept backup needs; every kept backup still verifies', async () => {
    const poolBefore = await poolKeys();
    const result = await runRetention({ cluster: f.cluster, s3: f.backupBucket.s3, catalog: f.deps('x').catalog, locks: f.state.locks, requestedBy: 'test', dryRun: false, now: hoursFromNow(25) });
    expect(result.pool.objects).toBe(onlyInSecond.length);
    const { backups: kept, incomplete } = await f.deps('x').catalog.list('test');
    expect(kept.map((b) => b.manifest.id)).toEqual([backups[3]!.id, backups[2]!.id, backups[0]!.id]);
    expect(incomplete).toEqual([]);
    const poolAfter = await poolKeys();
    expect(poolBefore.filter((k) => !poolAfter.includes(k)).sort()).toEqual([...onlyInSecond].sort());
    for (const b of kept) {
      const record = await verifyBackup({ s3: f.backupBucket.s3, store: f.cluster.backupStore, manifest: b.manifest });
      expect(record.ok, JSON.stringify(record.checks)).toBe(true);
    }
  });

  async function poolKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const o of listPool(f.backupBucket.s3, f.cluster.backupStore)) keys.push(o.key);
    return keys;
  }
});

function hoursFromNow(h: number): Date {
  return new Date(Date.now() + h * 3_600_000);
}
