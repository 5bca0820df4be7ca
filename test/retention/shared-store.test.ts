import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { verifyBackup } from '../../src/backup/verify-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { createMaintenance, RETENTION_JOB } from '../../src/maintenance/maintenance-jobs.js';
import { listPool } from '../../src/object-store/pool-listing.js';
import { poolKey } from '../../src/object-store/pool-keys.js';
import { newOperationId } from '../../src/restore/operation-id.js';
import { restoreDepsFor } from '../../src/restore/restore-deps-for.js';
import { planRestore } from '../../src/restore/restore-plan.js';
import { runRestore } from '../../src/restore/run-restore.js';
import { dropDatabaseIfExists } from '../../src/restore/target-databases.js';
import { acquireStoreLease } from '../../src/retention/store-lease.js';
import { poolsInUse } from '../../src/retention/pool-in-use.js';
import { runRetention } from '../../src/retention/run-retention.js';
import { defaultHelmValues } from '../../src/sandbox/kube-sim/index.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { runCli } from '../support/run-cli.js';
import { uniqueName } from '../support/services.js';

const hoursFromNow = (h: number) => new Date(Date.now() + h * 3_600_000);

/**
 * Two clusters — `test` and `dev`, each with its own pachbackup deployment (config, state database, Redis prefix)
 * — back up into one store. Neither deployment knows the other's cluster; they share only the bucket and prefix.
 */
describe('a backup store shared by two clusters', () => {
  let test: PachydermFixture;
  let dev: PachydermFixture;
  const backups: { test: BackupResult[]; dev: BackupResult[] } = { test: [], dev: [] };
  const pruneTest = (options: { dryRun?: boolean; now?: Date } = {}) =>
    runRetention({ cluster: test.cluster, s3: test.backupBucket.s3, catalog: test.deps('x').catalog, locks: test.state.locks, requestedBy: 'test', dryRun: options.dryRun ?? false, now: options.now ?? hoursFromNow(25) });

  beforeAll(async () => {
    test = await createPachydermFixture({ objects: 12, editConfig: (c) => (c.clusters.test.retention = { keepLast: 1 }) });
    dev = await createPachydermFixture({
      objects: 12,
      clusterName: 'dev',
      // A storage backend that reads chunks under a prefix, so that dev can be restored onto the backup pool in place.
      helmValues: { ...defaultHelmValues(), pachd: { ...(defaultHelmValues().pachd as object), storage: { backend: 'GOOGLE', storageURL: 'gs://dev-chunks' } } },
      editConfig: (c) => {
        c.clusters.dev.backupStore = { bucket: test.backupBucket.name, endpoint: test.cluster.objectStore.endpoint, prefix: 'pachbackup' };
        c.clusters.dev.retention = { keepLast: 1 };
      },
    });
    const backUp = async (f: PachydermFixture, name: 'test' | 'dev') => {
      const r = await runBackup({ deps: f.deps(newBackupId(name)), events: createRunEvents(), log: quietLogger });
      expect(r.status, r.error).toBe('succeeded');
      backups[name].push(r);
    };
    // Each cluster: a backup, new data, another backup.
    for (const [f, name] of [[test, 'test'], [dev, 'dev']] as const) {
      await backUp(f, name);
      await f.addObjects(3);
      await backUp(f, name);
    }
  }, 240_000);
  afterAll(async () => {
    await dev?.cleanup();
    await test?.cleanup();
  });

  async function poolKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const o of listPool(test.backupBucket.s3, test.cluster.backupStore)) keys.add(o.key);
    return keys;
  }

  async function expectEveryKeptBackupVerifies() {
    for (const [f, name] of [[test, 'test'], [dev, 'dev']] as const) {
      const { backups: kept } = await f.deps('x').catalog.list(name);
      expect(kept.length).toBeGreaterThan(0);
      for (const b of kept) {
        const record = await verifyBackup({ s3: f.backupBucket.s3, store: f.cluster.backupStore, manifest: b.manifest });
        expect(record.ok, `${b.manifest.id}: ${JSON.stringify(record.checks.filter((c) => !c.ok))}`).toBe(true);
      }
    }
  }

  it('prunes one cluster without touching what the other\'s backups reference; every kept backup of both verifies', async () => {
    const result = await pruneTest();
    expect(result.plan.remove.map((r) => r.id)).toEqual([backups.test[0]!.id]);
    await expectEveryKeptBackupVerifies();
    expect((await dev.deps('x').catalog.list('dev')).backups).toHaveLength(2);
  });

  it('keeps an unreferenced object younger than the grace period (a backup still copying), and deletes it once older', async () => {
    const key = 'chunk/fresh-0000000000000000000000000000000000000000.0000000000000001';
    await test.backupBucket.s3.send(new PutObjectCommand({ Bucket: test.backupBucket.name, Key: poolKey(test.cluster.backupStore, key), Body: 'copied a moment ago' }));
    const now = await pruneTest({ now: new Date() });
    expect(await poolKeys()).toContain(key);
    expect(now.pool.objects).toBe(0);
    const later = await pruneTest({ now: hoursFromNow(25) });
    expect(later.pool.sample).toContain(poolKey(test.cluster.backupStore, key));
    expect(await poolKeys()).not.toContain(key);
    await expectEveryKeptBackupVerifies();
  });

  it('lets the other deployment\'s daily maintenance job prune without robbing the first cluster', async () => {
    const queue = new Queue(uniqueName('maintenance'), { connection: dev.state.redis.duplicate() });
    const maintenance = createMaintenance({ config: dev.config, state: dev.state, log: quietLogger, queue });
    const result = (await maintenance.process(RETENTION_JOB, { cluster: 'dev' }).finally(() => queue.close())) as { plan: { remove: { id: string }[] } };
    expect(result.plan.remove.map((r) => r.id)).toEqual([backups.dev[0]!.id]);
    await expectEveryKeptBackupVerifies();
  });

  /** A pool object nothing references, written now; a prune with `now` a day on sees it as old. */
  async function plantOrphan(name: string): Promise<string> {
    const key = `chunk/${name}-${'1'.repeat(40)}.0000000000000001`;
    await test.backupBucket.s3.send(new PutObjectCommand({ Bucket: test.backupBucket.name, Key: poolKey(test.cluster.backupStore, key), Body: `${name}: no backup references it` }));
    return key;
  }

  it('gives the store\'s lease to one of two deployments taking it at once, and to the next once it expired', async () => {
    const take = (owner: string, ttlMs?: number) =>
      acquireStoreLease({ s3: test.backupBucket.s3, store: test.cluster.backupStore, name: 'race', owner, purpose: 'a test', settleMs: 500, ...(ttlMs ? { ttlMs } : {}) });
    const outcomes = await Promise.allSettled([take('one'), take('two')]);
    const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(won).toHaveLength(1);
    const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(String(lost.reason)).toMatch(new RegExp(`leased for a test by ${won[0]!.record.owner} until`));
    await won[0]!.release();
    const short = await take('three', 1);
    await new Promise((r) => setTimeout(r, 20));
    const next = await take('four');
    await expect(short.renew()).rejects.toThrow(/leased for a test by four/);
    await next.release();
  });

  it('leaves the pool alone while another deployment holds the store\'s lease, naming it, and collects once it is released', async () => {
    const orphan = await plantOrphan('while-leased');
    const lease = await acquireStoreLease({ s3: dev.backupBucket.s3, store: dev.cluster.backupStore, name: 'pool-gc', owner: 'dev-deployment@elsewhere', purpose: 'pool garbage collection', settleMs: 50 });
    try {
      const result = await pruneTest();
      expect(result.pool.skipped).toMatch(/leased for pool garbage collection by dev-deployment@elsewhere until \S+ \(s3:\/\/\S+\/pachbackup\/locks\/pool-gc\.json\)/);
      expect(result.pool.objects).toBe(0);
      expect(await poolKeys()).toContain(orphan);
    } finally {
      await lease.release();
    }
    const after = await pruneTest();
    expect(after.pool.skipped).toBeUndefined();
    expect(await poolKeys()).not.toContain(orphan);
  });

  it('leaves the pool alone while a backup of any cluster may be running into the store (a folder without manifest, written to within the grace period)', async () => {
    const orphan = await plantOrphan('while-backing-up');
    const running = `pachbackup/backups/staging/staging-20261203t000000z-beef/helm-values.yaml`;
    await test.backupBucket.s3.send(new PutObjectCommand({ Bucket: test.backupBucket.name, Key: running, Body: 'written by a backup that has not finished' }));
    try {
      const result = await pruneTest({ now: hoursFromNow(1) });
      expect(result.pool.skipped).toMatch(/a backup may be running into this store: staging\/staging-20261203t000000z-beef \(last written \S+\) has no manifest and was written to within the grace period of 24 h/);
      expect(await poolKeys()).toContain(orphan);
      // A day later that folder is a failed backup's, not a running one's: the orphan goes.
      expect((await pruneTest({ now: hoursFromNow(25) })).pool.skipped).toBeUndefined();
      expect(await poolKeys()).not.toContain(orphan);
    } finally {
      await test.backupBucket.s3.send(new DeleteObjectCommand({ Bucket: test.backupBucket.name, Key: running }));
    }
    await expectEveryKeptBackupVerifies();
  });

  it('records a cluster restored onto the backup pool in place, and leaves that pool alone until it is released', async () => {
    const backupId = backups.dev[1]!.id;
    const suffix = uniqueName('inpool').replace(/-/g, '_');
    const deps = restoreDepsFor(dev.config, dev.cluster, dev.state, { id: newOperationId('restore', 'dev'), backupId, requestedBy: 'alice' });
    try {
      const plan = await planRestore({ env: deps, request: { backupId, databases: { kind: 'new', suffix }, objects: { kind: 'backup-pool' } } });
      expect(plan.refusals).toEqual([]);
      const restored = await runRestore({ deps, plan, events: createRunEvents(), log: quietLogger });
      expect(restored.status, restored.error).toBe('succeeded');
    } finally {
      deps.close();
      for (const db of backups.dev[1]!.databases) await dropDatabaseIfExists(dev.cluster.postgres, `${db.name}_${suffix}`).catch(() => undefined);
    }
    const recorded = await poolsInUse(dev.backupBucket.s3, dev.cluster.backupStore);
    expect(recorded).toEqual([expect.objectContaining({ cluster: 'dev', backupId, by: 'alice' })]);

    // The restored cluster writes its own chunks into the pool; no prune of either cluster may delete them.
    const written = await plantOrphan('written-by-the-restored-cluster');
    const result = await pruneTest({ now: hoursFromNow(48) });
    expect(result.pool.skipped).toMatch(/cluster dev runs on the pool s3:\/\/\S+\/pachbackup\/objects\/ in place \(restore \S+ of dev-\S+, since \S+, recorded at s3:\/\/\S+\/pachbackup\/pool-in-use\/dev\.json\); once it runs elsewhere: pachbackup release-pool --cluster dev/);
    expect(result.pool.objects).toBe(0);
    expect(await poolKeys()).toContain(written);

    // Released through the CLI (audited), the pool is collected again.
    const released = await runCli(['release-pool', '--cluster', 'dev', '--config', dev.configFile]);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toMatch(/dev no longer recorded as running on s3:\/\/\S+\/pachbackup: retention collects that pool again/);
    expect(await poolsInUse(dev.backupBucket.s3, dev.cluster.backupStore)).toEqual([]);
    const again = await runCli(['release-pool', '--cluster', 'dev', '--config', dev.configFile]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/no record that cluster dev runs on the pool of s3:\/\/\S+/);
    expect((await pruneTest({ now: hoursFromNow(48) })).pool.skipped).toBeUndefined();
    expect(await poolKeys()).not.toContain(written);
    await expectEveryKeptBackupVerifies();
  });
});
