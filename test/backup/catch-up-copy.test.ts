import { afterEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { readInventory } from '../../src/object-store/inventory.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';

let fixture: PachydermFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

describe('objects arriving while the backup copies', () => {
  it('are copied by the passes before the pause, each object once, and the inventory is the bucket at the pause', async () => {
    const f = (fixture = await createPachydermFixture({
      objects: 40,
      editConfig: (config) => {
        config.clusters.test.backup.catchUpAfterSeconds = 0; // every pre-copy counts as long
        config.clusters.test.backup.listConcurrency = 4;
      },
    }));
    const events = createRunEvents();
    // Pachyderm writes chunks until it is paused.
    let writing = true;
    let added = 0;
    let atPause: Map<string, { size: number; etag: string }> | undefined;
    const listed = new Promise<void>((resolve) =>
      events.subscribe((e) => {
        if (e.type === 'step-started' && e.step === 'pause') writing = false;
        if (e.type === 'step-finished' && e.step === 'pause') void f.clusterListing().then((l) => ((atPause = l), resolve()));
      }),
    );
    const writer = (async () => {
      while (writing) added += (await f.addObjects(1)).length;
    })();
    const result = await runBackup({ deps: f.deps(newBackupId('test')), events, log: quietLogger });
    await Promise.all([writer, listed]);

    expect(result.status, result.error).toBe('succeeded');
    const steps = await f.state.runs.getSteps(result.id);
    expect(steps.find((s) => s.name === 'catch-up-copy')?.state).toBe('done');
    expect(result.objects.total).toBe(atPause!.size);
    expect(result.objects.copied).toBe(atPause!.size); // nothing copied twice, nothing missed
    expect(atPause!.size).toBeGreaterThanOrEqual(40 + added - 1);
    const manifest = (await f.deps('x').catalog.readManifest('test', result.id))!;
    const inventory = new Map<string, { size: number; etag: string }>();
    for await (const e of readInventory({ s3: f.backupBucket.s3, bucket: f.backupBucket.name, key: manifest.objects.inventory.key, expectedSha256: manifest.objects.inventory.sha256 })) {
      inventory.set(e.key, { size: e.size, etag: e.etag });
    }
    expect(inventory).toEqual(atPause);
  });
});
