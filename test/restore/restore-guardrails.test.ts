import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as k8s from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/catalog/manifest.js';
import type { RestoreDeps } from '../../src/restore/restore-deps.js';
import { planRestore } from '../../src/restore/restore-plan.js';
import { runRestore } from '../../src/restore/run-restore.js';
import { inspectDatabases } from '../../src/restore/target-databases.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { createTestBucket, createTestDatabase } from '../support/services.js';
import { backUp, restoreDeps } from './restore-fixtures.js';

describe('the restore plan\'s guardrails', () => {
  let f: PachydermFixture;
  let manifest: BackupManifest;
  let deps: RestoreDeps & { close(): void };
  let emptyBucket: Awaited<ReturnType<typeof createTestBucket>>;
  let fullBucket: Awaited<ReturnType<typeof createTestBucket>>;
  let fullDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let emptyDb: Awaited<ReturnType<typeof createTestDatabase>>;
  const toEmpty = () => ({ [f.pachydermDb.name]: emptyDb.name, [f.dexDb.name]: `${emptyDb.name}_dex` });

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 12 });
    ({ manifest } = await backUp(f));
    deps = restoreDeps(f, manifest.id);
    [emptyBucket, fullBucket, fullDb, emptyDb] = await Promise.all([createTestBucket('empty'), createTestBucket('full'), createTestDatabase('full'), createTestDatabase('empty')]);
    await fullBucket.s3.send(new PutObjectCommand({ Bucket: fullBucket.name, Key: 'chunk/someone-elses', Body: 'data' }));
    const c = new pg.Client({ connectionString: fullDb.url });
    await c.connect();
    await c.query('CREATE TABLE important (id int)');
    await c.end();
  });
  afterAll(async () => {
    deps?.close();
    await Promise.all([emptyBucket?.drop(), fullBucket?.drop(), fullDb?.drop(), emptyDb?.drop()]);
    await f?.cleanup();
  });

  it('refuses a target database that exists and is not empty, naming it', async () => {
    const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'names', names: { [f.pachydermDb.name]: fullDb.name, [f.dexDb.name]: `${fullDb.name}_dex` } }, objects: { kind: 'bucket', bucket: emptyBucket.name } } });
    expect(plan.refusals).toHaveLength(1);
    expect(plan.refusals[0]).toContain(`database "${fullDb.name}"`);
    expect(plan.refusals[0]).toContain('exists and is not empty');
    expect(plan.databases[0]).toMatchObject({ exists: true, replaces: true });
    expect(plan.databases[1]).toMatchObject({ exists: false, replaces: false });
  });

  it('refuses a role that cannot create databases, or drop the one it would replace, saying what to grant', async () => {
    const role = `nocreatedb_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: fullDb.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'restore-test'`);
      const weak = { ...deps, target: { ...deps.target, postgres: { ...deps.target.postgres, user: role, password: 'restore-test' } } };
      const plan = await planRestore({ env: weak, request: { backupId: manifest.id, databases: { kind: 'names', names: toEmpty() }, objects: { kind: 'bucket', bucket: emptyBucket.name } } });
      expect(plan.refusals).toEqual([
        expect.stringMatching(new RegExp(`role "${role}" .* cannot create databases.*ALTER ROLE "${role}" CREATEDB`)),
        expect.stringMatching(new RegExp(`database "${emptyDb.name}" .* is owned by ".+", so the role "${role}" cannot drop it`)),
      ]);
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });

  it('refuses a target bucket that is not empty', async () => {
    const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'names', names: toEmpty() }, objects: { kind: 'bucket', bucket: fullBucket.name } } });
    expect(plan.refusals).toEqual([expect.stringMatching(new RegExp(`^s3://${fullBucket.name}/ .*is not empty \\(1 objects, e\\.g\\. chunk/someone-elses\\)`))]);
  });

  it('allows both with overwrite, and lists exactly what is replaced', async () => {
    const plan = await planRestore({
      env: deps,
      request: { backupId: manifest.id, databases: { kind: 'names', names: { [f.pachydermDb.name]: fullDb.name, [f.dexDb.name]: `${fullDb.name}_dex` } }, objects: { kind: 'bucket', bucket: fullBucket.name }, overwrite: true },
    });
    expect(plan.refusals).toEqual([]);
    expect(plan.overwrites).toHaveLength(2);
    expect(plan.overwrites[0]).toMatch(new RegExp(`database "${fullDb.name}" .* is DROPPED and replaced by the backup's "${f.pachydermDb.name}"`));
    expect(plan.overwrites[1]).toMatch(new RegExp(`s3://${fullBucket.name}/.* holds objects .* REPLACED otherwise`));
  });

  it('refuses restoring over the cluster\'s own databases and bucket without overwrite, and pauses it with overwrite', async () => {
    const refused = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'original' } } });
    expect(refused.inPlace).toBe(true);
    expect(refused.refusals).toHaveLength(3);
    expect(refused.refusals.every((r) => r.includes('it is what cluster test runs on'))).toBe(true);
    const allowed = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'original' }, overwrite: true } });
    expect(allowed.refusals).toEqual([]);
    expect(allowed.pause).toMatchObject({ needed: true, workloads: expect.arrayContaining(['pachd ×1']) });
    expect(allowed.steps.map((s) => s.name)).toEqual(['check-plan', 'verify', 'restore-databases', 'copy-objects', 'pause', 'copy-delta', 'swap-databases', 'helm-values', 'resume']);
    expect(allowed.overwrites.join('\n')).toContain(`the live database of test`);
  });

  it('refuses a key prefix, which Pachyderm\'s S3 backend cannot use', async () => {
    const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'names', names: toEmpty() }, objects: { kind: 'bucket', bucket: emptyBucket.name, prefix: 'restored' } } });
    expect(plan.refusals).toEqual([expect.stringContaining('reads its chunks from the root of its bucket')]);
  });

  it('refuses to use the backup pool in place with an S3 storage backend, saying why', async () => {
    const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'names', names: toEmpty() }, objects: { kind: 'backup-pool' } } });
    expect(plan.objects).toMatchObject({ mode: 'backup-pool', bucket: f.backupBucket.name, prefix: 'pachbackup/objects' });
    expect(plan.warnings.join('\n')).toContain('THE BACKUP STORE STOPS BEING A BACKUP');
    expect(plan.refusals.join('\n')).toMatch(/cannot read chunks under a prefix/);
  });

  it('refuses a target inside the backup store', async () => {
    const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'names', names: toEmpty() }, objects: { kind: 'bucket', bucket: f.backupBucket.name }, overwrite: true } });
    expect(plan.refusals.join('\n')).toMatch(/overlaps the backup store/);
  });

  it('gives the same fingerprint when nothing changed, and another when a target or what it overwrites changes', async () => {
    const request = { backupId: manifest.id, databases: { kind: 'names' as const, names: toEmpty() }, objects: { kind: 'bucket' as const, bucket: emptyBucket.name } };
    const first = await planRestore({ env: deps, request });
    const second = await planRestore({ env: deps, request: first.request });
    expect(second.refusals).toEqual([]);
    expect(second.fingerprint).toBe(first.fingerprint);
    const otherBucket = await planRestore({ env: deps, request: { ...request, objects: { kind: 'bucket', bucket: `${emptyBucket.name}-x` } } });
    expect(otherBucket.fingerprint).not.toBe(first.fingerprint);
    const overwriting = await planRestore({ env: deps, request: { ...request, overwrite: true } });
    expect(overwriting.fingerprint).not.toBe(first.fingerprint);

    // A restore approved on the first plan is refused once the target bucket is no longer empty.
    await emptyBucket.s3.send(new PutObjectCommand({ Bucket: emptyBucket.name, Key: 'late/arrival', Body: 'x' }));
    const stale = await runRestore({ deps: restoreDeps(f, manifest.id), plan: first, events: createRunEvents(), log: quietLogger });
    expect(stale.status).toBe('failed-validation');
    expect(stale.error).toMatch(/changed since it was approved: objects: approved copy s3:\/\/.* now copy s3:\/\/.*\(not empty\)/);
    expect((await inspectDatabases(f.cluster.postgres, [emptyDb.name])).map((d) => d.objects)).toEqual([0]);
  });

  it('warns when the target runs a Pachyderm older than the backup\'s', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(f.kube.kubeconfig('pachyderm'));
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const pachd = await apps.readNamespacedDeployment({ name: 'pachd', namespace: 'pachyderm' });
    const containers = pachd.spec!.template!.spec!.containers.map((c) => (c.name === 'pachd' ? { ...c, image: 'pachyderm/pachd:2.10.3' } : c));
    await apps.patchNamespacedDeployment({ name: 'pachd', namespace: 'pachyderm', body: { spec: { template: { spec: { containers } } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'names', names: toEmpty() }, objects: { kind: 'bucket', bucket: `${emptyBucket.name}-y` } } });
    expect(plan.target.pachyderm.version).toBe('2.10.3');
    expect(plan.refusals).toEqual([]);
    expect(plan.warnings.join('\n')).toMatch(/runs Pachyderm 2\.10\.3, older than the backup's 2\.11\.6: pachd refuses a database newer than itself/);
  });
});

describe('a backup that fails verification', () => {
  let f: PachydermFixture;
  afterAll(async () => f?.cleanup());

  it('is refused by the plan, and a restore planned before the damage stops before changing anything', async () => {
    f = await createPachydermFixture({ objects: 8 });
    const { manifest } = await backUp(f);
    const deps = restoreDeps(f, manifest.id);
    const target = await createTestBucket('target');
    try {
      const request = { backupId: manifest.id, objects: { kind: 'bucket' as const, bucket: target.name } };
      const approved = await planRestore({ env: deps, request });
      expect(approved.refusals).toEqual([]);

      // Someone damages a dump in the backup store.
      await f.backupBucket.s3.send(new PutObjectCommand({ Bucket: f.backupBucket.name, Key: manifest.databases[0]!.key, Body: Buffer.alloc(manifest.databases[0]!.bytes, 7) }));
      const plan = await planRestore({ env: deps, request, verification: 'always' });
      expect(plan.backup.verification).toMatchObject({ ok: false, source: 'verified-now' });
      expect(plan.refusals).toEqual([expect.stringMatching(new RegExp(`^backup ${manifest.id} fails verification \\(verified now\\): dump ${f.pachydermDb.name}: sha256 mismatch`))]);
      // A failed verify.json is never trusted: the default policy verifies again, and refuses again.
      expect((await planRestore({ env: deps, request })).refusals.join()).toMatch(/fails verification \(verified now\): dump .*sha256 mismatch/);

      const result = await runRestore({ deps, plan: approved, events: createRunEvents(), log: quietLogger });
      expect(result.status).toBe('failed-validation');
      expect(result.error).toMatch(/^Verify the backup: backup .* fails verification: dump .*sha256 mismatch/);
      expect(result.databases).toEqual([]);
      expect((await inspectDatabases(f.cluster.postgres, approved.databases.map((d) => d.target))).some((d) => d.exists)).toBe(false);
    } finally {
      deps.close();
      await target.drop();
    }
  });
});
