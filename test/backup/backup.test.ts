import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { backupFiles, newBackupId } from '../../src/catalog/backup-layout.js';
import type { BackupManifest } from '../../src/catalog/manifest.js';
import { readInventory } from '../../src/object-store/inventory.js';
import { restoreDatabase } from '../../src/postgres/restore-database.js';
import { tableChecksums } from '../../src/postgres/server-info.js';
import { createRunEvents, type RunEvent } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { createTestDatabase } from '../support/services.js';

describe('a backup of a running Pachyderm cluster', () => {
  let f: PachydermFixture;
  let first: BackupResult;
  let firstEvents: RunEvent[];
  let replicasBefore: Record<string, number>;
  /** The cluster bucket as it was while the cluster was paused. */
  let listingAtPause: Map<string, { size: number; etag: string }>;

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 80 });
    replicasBefore = await f.replicas();
    const events = createRunEvents();
    firstEvents = [];
    events.subscribe((e) => {
      firstEvents.push(e);
    });
    // Read the bucket while the cluster is paused (nothing writes then).
    const listed = new Promise<void>((resolve) =>
      events.subscribe((e) => {
        if (e.type === 'step-finished' && e.step === 'pause') void f.clusterListing().then((l) => ((listingAtPause = l), resolve()));
      }),
    );
    first = await runBackup({ deps: f.deps(newBackupId('test')), events, log: quietLogger });
    await listed;
  });
  afterAll(async () => f?.cleanup());

  it('succeeds, pauses only between pause and resume, and leaves the cluster as it found it', async () => {
    expect(first.status, first.error).toBe('succeeded');
    expect(first.downtimeSeconds).toBeGreaterThan(0);
    expect(first.objects).toMatchObject({ total: 80, copied: 80 });
    expect(await f.replicas()).toEqual(replicasBefore);
    expect(await f.cronJobSuspended('ingest-uploads')).toBe(false);
    const steps = firstEvents.filter((e) => e.type === 'step-finished').map((e) => (e as { step: string }).step);
    expect(steps).toEqual(['preflight', 'helm-values', 'pre-copy', 'catch-up-copy', 'suspend-ingress', 'pause', 'delta-copy', 'snapshot', 'resume', 'resume-ingress', 'dump-databases', 'inventory', 'manifest', 'verify']);
    const downtime = firstEvents.filter((e) => e.type === 'step-started' && e.downtime).map((e) => (e as { step: string }).step);
    expect(downtime).toEqual(['pause', 'delta-copy', 'snapshot', 'resume']);
  });

  it('writes the manifest, Helm values, dumps and inventory to the backup store', async () => {
    const store = f.cluster.backupStore;
    const get = async (key: string) => (await f.backupBucket.s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }))).Body!.transformToString();
    const manifest = JSON.parse(await get(backupFiles.manifest(store, 'test', first.id))) as BackupManifest;
    expect(manifest).toMatchObject({ id: first.id, cluster: 'test', status: 'complete', pachyderm: { chartVersion: '2.11.6', appVersion: '2.11.6', pachdImage: expect.stringContaining('pachd') } });
    expect(manifest.databases.map((d) => d.name)).toEqual([f.pachydermDb.name, f.dexDb.name]);
    expect(manifest.databases.every((d) => /^[0-9a-f]{64}$/.test(d.sha256) && d.bytes > 0 && d.pgDumpVersion.includes('pg_dump'))).toBe(true);
    expect(manifest.objects).toMatchObject({ count: 80, copied: 80 });
    expect(manifest.replicas.pachd).toBe(1);
    expect(manifest.downtime.seconds).toBe(first.downtimeSeconds);
    expect(manifest.steps.map((s) => s.name)).toContain('dump-databases');
    const values = parse(await get(backupFiles.helmValues(store, 'test', first.id))) as Record<string, any>;
    expect(values.pachd).toBeDefined();
    for (const db of manifest.databases) {
      const head = await f.backupBucket.s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: db.key }));
      expect(head.ContentLength).toBe(db.bytes);
    }
    const verification = JSON.parse(await get(backupFiles.verification(store, 'test', first.id)));
    expect(verification.ok).toBe(true);
  });

  it('records an inventory equal to the cluster bucket at the pause', async () => {
    const manifest = (await f.deps('x').catalog.readManifest('test', first.id))!;
    const inventory = new Map<string, { size: number; etag: string }>();
    for await (const e of readInventory({ s3: f.backupBucket.s3, bucket: f.backupBucket.name, key: manifest.objects.inventory.key, expectedSha256: manifest.objects.inventory.sha256 })) {
      inventory.set(e.key, { size: e.size, etag: e.etag });
      expect(e.storeKey).toBe(`pachbackup/objects/${e.key}`);
    }
    expect(inventory).toEqual(listingAtPause);
  });

  it('has dumps that restore into fresh databases with the same contents, table by table', async () => {
    const manifest = (await f.deps('x').catalog.readManifest('test', first.id))!;
    for (const [source, db] of [
      [f.pachydermDb, manifest.databases[0]!],
      [f.dexDb, manifest.databases[1]!],
    ] as const) {
      const target = await createTestDatabase('restored');
      try {
        await restoreDatabase({
          postgres: f.cluster.postgres,
          database: target.name,
          source: { s3: f.backupBucket.s3, bucket: f.backupBucket.name, key: db.key },
          expectedSha256: db.sha256,
          signal: new AbortController().signal,
        });
        const [want, got] = await Promise.all([tableChecksums(source.url, source.name), tableChecksums(target.url, target.name)]);
        expect(got.length).toBeGreaterThan(5);
        expect(got).toEqual(want);
        expect(db.tables.reduce((n, t) => n + t.rows, 0)).toBe(want.reduce((n, t) => n + t.rows, 0));
      } finally {
        await target.drop();
      }
    }
  });

  it('copies only the new objects in the next backup, and never copies one twice', async () => {
    const added = await f.addObjects(Math.max(1, Math.round(80 * 0.01)));
    const second = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(second.status, second.error).toBe('succeeded');
    expect(second.objects.total).toBe(81);
    expect(second.objects.copied).toBe(added.length);
    expect(second.bytes.copied).toBe(added.reduce((n, o) => n + o.size, 0));
    expect(second.objects.copiedWhilePaused).toBe(0);

    const third = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(third.objects).toMatchObject({ total: 81, copied: 0 });
    const { backups } = await f.deps('x').catalog.list('test');
    expect(backups.map((b) => b.manifest.id)).toEqual([third.id, second.id, first.id]);
  });
});
