import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { BackupManifest } from '../../src/catalog/manifest.js';
import type { InventoryEntry } from '../../src/object-store/inventory-entry.js';
import { tableChecksums, type TableChecksum } from '../../src/postgres/server-info.js';
import type { RestoreDeps } from '../../src/restore/restore-deps.js';
import { planRestore, type RestorePlan } from '../../src/restore/restore-plan.js';
import { runRestore, type RestoreResult } from '../../src/restore/run-restore.js';
import { dropDatabaseIfExists, inspectDatabases } from '../../src/restore/target-databases.js';
import { createRunEvents, type RunEvent } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { uniqueName } from '../support/services.js';
import { backUp, inventoryOf, listAll, readObject, removeBucket, restoreDeps } from './restore-fixtures.js';

describe('restoring a damaged cluster\'s backup into new databases and a new bucket', () => {
  let f: PachydermFixture;
  let manifest: BackupManifest;
  let inventory: InventoryEntry[];
  let deps: RestoreDeps & { close(): void };
  let plan: RestorePlan;
  let result: RestoreResult;
  let events: RunEvent[];
  const checksumsBefore = new Map<string, TableChecksum[]>();
  /** Bytes of some objects as the cluster had them, including ones deleted by the damage. */
  const originals = new Map<string, Buffer>();
  const targetBucket = uniqueName('restored');
  let replicasBefore: Record<string, number>;

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 40 });
    replicasBefore = await f.replicas();
    for (const db of [f.pachydermDb, f.dexDb]) checksumsBefore.set(db.name, await tableChecksums(db.url, db.name));
    ({ manifest } = await backUp(f));
    inventory = await inventoryOf(f, manifest);
    const damaged = inventory.slice(0, 5).map((e) => e.key);
    for (const e of [...inventory.slice(0, 5), ...inventory.slice(-2)]) originals.set(e.key, await readObject(f.clusterBucket.s3, f.clusterBucket.name, e.key));

    // The damage: a table dropped, rows lost, chunks deleted from the cluster bucket.
    await f.pachyderm.query('DROP TABLE pfs.commits CASCADE');
    await f.pachyderm.query('DELETE FROM storage.chunk_objects');
    for (const key of damaged) await f.clusterBucket.s3.send(new DeleteObjectCommand({ Bucket: f.clusterBucket.name, Key: key }));

    deps = restoreDeps(f, manifest.id);
    plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'new' }, objects: { kind: 'bucket', bucket: targetBucket } } });
    const recorder = createRunEvents();
    events = [];
    recorder.subscribe((e) => {
      events.push(e);
    });
    result = await runRestore({ deps, plan, events: recorder, log: quietLogger });
  });
  afterAll(async () => {
    if (plan) for (const d of plan.databases) await dropDatabaseIfExists(f.cluster.postgres, d.target);
    await removeBucket(f.clusterBucket.s3, targetBucket);
    deps?.close();
    await f?.cleanup();
  });

  it('plans new databases named after the date and a bucket to create, with nothing to pause or overwrite', () => {
    expect(plan.refusals).toEqual([]);
    const date = plan.plannedAt.slice(0, 10).replace(/-/g, '');
    expect(plan.databases.map((d) => d.target)).toEqual([`${f.pachydermDb.name}_restored_${date}`, `${f.dexDb.name}_restored_${date}`]);
    expect(plan.databases.map((d) => d.role)).toEqual(['pachyderm', 'dex']);
    expect(plan.objects).toMatchObject({ mode: 'copy', bucket: targetBucket, prefix: '', bucketExists: false, empty: true, live: false, count: 40 });
    expect(plan.pause.needed).toBe(false);
    expect(plan.inPlace).toBe(false);
    expect(plan.overwrites).toEqual([]);
    expect(plan.backup.verification).toMatchObject({ ok: true, source: 'verify.json' });
    expect(plan.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('succeeds without pausing the running cluster', () => {
    expect(result.status, result.error).toBe('succeeded');
    expect(result.downtimeSeconds).toBeNull();
    const steps = events.filter((e) => e.type === 'step-finished').map((e) => (e as { step: string }).step);
    expect(steps).toEqual(['check-plan', 'verify', 'restore-databases', 'copy-objects', 'swap-databases', 'helm-values']);
    expect(result.objects).toMatchObject({ total: 40, copied: 40, skipped: 0 });
  });

  it('restores every table of both databases exactly as it was before the damage', async () => {
    for (const [source, restored] of plan.databases.map((d) => [d.source, d.target] as const)) {
      const got = await tableChecksums(f.cluster.postgres, restored);
      expect(got).toEqual(checksumsBefore.get(source));
    }
    const rows = result.databases.map((d) => [d.target, d.rows, d.mismatches]);
    expect(rows).toEqual(plan.databases.map((d) => [d.target, d.rows, []]));
    // No staging database is left behind.
    const staging = await inspectDatabases(f.cluster.postgres, plan.databases.map((d) => `${d.target}_restoring_${result.id.slice(-6)}`));
    expect(staging.every((s) => !s.exists)).toBe(true);
  });

  it('puts every inventory object in the new bucket with the cluster\'s bytes', async () => {
    const listed = await listAll(f.clusterBucket.s3, targetBucket);
    expect(new Map(inventory.map((e) => [e.key, e.size]))).toEqual(listed);
    for (const [key, bytes] of originals) expect((await readObject(f.clusterBucket.s3, targetBucket, key)).equals(bytes)).toBe(true);
  });

  it('stores Helm values beside the backup that point at the new databases, the server and the bucket', async () => {
    expect(result.helm?.valuesKey).toBe(`pachbackup/backups/test/${manifest.id}/restores/${result.id}/helm-values.yaml`);
    expect(result.helm?.command).toBe('helm upgrade --install pachyderm pachyderm/pachyderm --version 2.11.6 -n pachyderm -f restored-values.yaml');
    const text = (await readObject(f.backupBucket.s3, f.backupBucket.name, result.helm!.valuesKey)).toString('utf8');
    const values = parse(text) as Record<string, any>;
    expect(values.global.postgresql).toMatchObject({
      postgresqlHost: '127.0.0.1',
      postgresqlPort: String(f.cluster.postgres.port),
      postgresqlDatabase: plan.databases[0]!.target,
      identityDatabaseFullNameOverride: plan.databases[1]!.target,
      postgresqlExistingSecretName: 'pachyderm-postgresql',
    });
    expect(values.pachd.storage.storageURL).toBe(`s3://${targetBucket}?endpoint=127.0.0.1:9000&disableSSL=true&region=us-east-1`);
    expect(text).toContain(result.helm!.command);
  });

  it('leaves the damaged cluster as it found it', async () => {
    expect(await f.replicas()).toEqual(replicasBefore);
    const run = await f.state.runs.getRun(result.id);
    expect(run).toMatchObject({ kind: 'restore', phase: 'succeeded', cluster: 'test' });
    expect(run?.result).toMatchObject({ id: result.id, fingerprint: plan.fingerprint });
  });

  it('plans the same restore again with another fingerprint once its targets exist, and refuses it', async () => {
    const again = await planRestore({ env: deps, request: plan.request });
    expect(again.fingerprint).not.toBe(plan.fingerprint);
    expect(again.refusals.join('\n')).toMatch(/exists and is not empty/);
    expect(again.refusals.join('\n')).toMatch(new RegExp(`s3://${targetBucket}/ .*is not empty`));
  });
});
