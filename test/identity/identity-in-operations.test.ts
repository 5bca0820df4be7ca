import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import type { BackupManifest } from '../../src/catalog/manifest.js';
import { planRestore } from '../../src/restore/restore-plan.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { createTestBucket, createTestDatabase, services } from '../support/services.js';
import { backUp, restoreDeps } from '../restore/restore-fixtures.js';

const localhost = () => `http://localhost:${new URL(services().s3Endpoint).port}`;

describe('preflight asks the store whether the backup store is the cluster bucket', () => {
  let f: PachydermFixture;
  beforeAll(async () => {
    // The backup store is the cluster's own bucket, spelt http://localhost:P instead of http://127.0.0.1:P.
    f = await createPachydermFixture({ objects: 4, editConfig: (config) => void (config.clusters.test.backupStore = { bucket: config.clusters.test.objectStore.bucket, endpoint: localhost(), prefix: 'pachbackup' }) });
  });
  afterAll(async () => f?.cleanup());

  it('ends the backup as failed-validation, touching nothing', async () => {
    const before = await f.replicas();
    const result = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(result.status).toBe('failed-validation');
    expect(result.error).toMatch(/the backup store s3:\/\/\S+ at http:\/\/localhost:\d+ is the cluster's own bucket .*marker written to .* was found/);
    expect(await f.replicas()).toEqual(before);
    expect([...(await f.clusterListing()).keys()].filter((k) => !k.startsWith('chunk/'))).toEqual([]);
  });
});

describe('restore plans ask the systems whether a target is another cluster\'s live state', () => {
  let f: PachydermFixture;
  let manifest: BackupManifest;
  let devBucket: Awaited<ReturnType<typeof createTestBucket>>;
  let devDb: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    [devBucket, devDb] = await Promise.all([createTestBucket('dev'), createTestDatabase('devpach')]);
    f = await createPachydermFixture({
      objects: 4,
      editConfig: (config) => {
        // Cluster dev runs on its own bucket and database; its config spells the services `localhost`.
        const test = config.clusters.test;
        config.clusters.dev = {
          ...structuredClone(test),
          postgres: { ...test.postgres, host: 'localhost', databases: [devDb.name] },
          objectStore: { ...test.objectStore, endpoint: localhost(), bucket: devBucket.name },
          backupStore: { bucket: test.backupStore.bucket, endpoint: services().s3Endpoint, prefix: 'dev' },
        };
      },
    });
    ({ manifest } = await backUp(f));
  });
  afterAll(async () => {
    await f?.cleanup();
    await Promise.all([devBucket?.drop(), devDb?.drop()]);
  });

  const names = (pachyderm: string) => ({ [f.pachydermDb.name]: pachyderm, [f.dexDb.name]: `${pachyderm}_dex` });

  it('refuses dev\'s live bucket, spelt http://127.0.0.1:P by the target where dev says localhost', async () => {
    const deps = restoreDeps(f, manifest.id);
    try {
      const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'names', names: names('fresh_target') }, objects: { kind: 'bucket', bucket: devBucket.name }, overwrite: true } });
      expect(plan.refusals.join('\n')).toMatch(new RegExp(`s3://${devBucket.name}/ at http://127\\.0\\.0\\.1:\\d+ is the bucket cluster dev runs on`));
    } finally {
      deps.close();
    }
  });

  it('refuses dev\'s live database, on host 127.0.0.1 for the target and localhost for dev', async () => {
    const deps = restoreDeps(f, manifest.id);
    try {
      const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'names', names: names(devDb.name) }, objects: { kind: 'bucket', bucket: `${devBucket.name}-new` }, overwrite: true } });
      expect(plan.refusals.join('\n')).toMatch(new RegExp(`database "${devDb.name}" on 127\\.0\\.0\\.1:\\d+ is the live database of cluster dev`));
    } finally {
      deps.close();
    }
  });

  it('refuses the backup store reached as localhost', async () => {
    const deps = restoreDeps(f, manifest.id);
    try {
      const plan = await planRestore({ env: deps, request: { backupId: manifest.id, databases: { kind: 'names', names: names('fresh_target2') }, objects: { kind: 'bucket', bucket: f.backupBucket.name, endpoint: localhost() }, overwrite: true } });
      expect(plan.refusals.join('\n')).toMatch(/overlaps the backup store/);
    } finally {
      deps.close();
    }
  });
});
