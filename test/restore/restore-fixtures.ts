import { DeleteBucketCommand, DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { listAll } from '../object-store/s3-fixtures.js';
import { expect } from 'vitest';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import type { BackupManifest } from '../../src/catalog/manifest.js';
import { readInventory } from '../../src/object-store/inventory.js';
import type { InventoryEntry } from '../../src/object-store/inventory-entry.js';
import { newOperationId } from '../../src/restore/operation-id.js';
import { restoreDepsFor } from '../../src/restore/restore-deps-for.js';
import type { RestoreDeps } from '../../src/restore/restore-deps.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';

/** A real backup of the fixture's cluster, which must succeed. */
export async function backUp(f: PachydermFixture): Promise<{ result: BackupResult; manifest: BackupManifest }> {
  const result = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
  expect(result.status, result.error).toBe('succeeded');
  const manifest = (await f.deps('x').catalog.readManifest('test', result.id))!;
  return { result, manifest };
}

/** Restore dependencies for the fixture's cluster, as the CLI builds them; closed by the caller. */
export function restoreDeps(f: PachydermFixture, backupId: string, requestedBy = 'test'): RestoreDeps & { close(): void } {
  return restoreDepsFor(f.config, f.cluster, f.state, { id: newOperationId('restore', 'test'), backupId, requestedBy });
}

export async function inventoryOf(f: PachydermFixture, manifest: BackupManifest): Promise<InventoryEntry[]> {
  const entries: InventoryEntry[] = [];
  for await (const e of readInventory({ s3: f.backupBucket.s3, bucket: f.backupBucket.name, key: manifest.objects.inventory.key })) entries.push(e);
  return entries;
}

export { listAll, readObject } from '../object-store/s3-fixtures.js';

export { runCli } from '../support/run-cli.js';

/** Empties and removes a bucket if it exists (a restore may have created it). */
export async function removeBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    const keys = [...(await listAll(s3, bucket)).keys()];
    for (let i = 0; i < keys.length; i += 1000) {
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch {
    // not there
  }
}
