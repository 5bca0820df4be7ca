import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { createInventoryWriter, readInventory } from '../../src/object-store/inventory.js';
import type { InventoryEntry } from '../../src/object-store/inventory-entry.js';
import { poolKey } from '../../src/object-store/pool-keys.js';
import { syncToPool } from '../../src/object-store/sync-to-pool.js';
import { verifyInventoryObjects, type VerifyPoolProgress } from '../../src/object-store/verify-pool.js';
import { createTestBucket, testStore } from '../support/services.js';
import { putObjects, randomChunks } from './s3-fixtures.js';

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

describe('verifyInventoryObjects', () => {
  let cluster: Awaited<ReturnType<typeof createTestBucket>>;
  let backup: Awaited<ReturnType<typeof createTestBucket>>;
  const store = () => testStore(backup.name, 'vault');
  const inventoryKey = 'vault/backups/prod/1/inventory.ndjson.gz';

  /** A backup as the backup step takes it: sync into the pool, writing the inventory as objects are listed. */
  const backUp = async (objects: Map<string, Buffer>) => {
    await putObjects(cluster.s3, cluster.name, objects);
    const writer = createInventoryWriter({ s3: backup.s3, bucket: backup.name, key: inventoryKey });
    await syncToPool({ source: { s3: cluster.s3, store: testStore(cluster.name) }, target: { s3: backup.s3, store: store() }, onObject: (e) => writer.add(e) });
    return writer.close();
  };
  const verify = (onProgress?: (p: VerifyPoolProgress) => void) =>
    verifyInventoryObjects({
      s3: backup.s3,
      store: store(),
      entries: readInventory({ s3: backup.s3, bucket: backup.name, key: inventoryKey }),
      ...(onProgress ? { onProgress } : {}),
    });

  beforeEach(async () => {
    [cluster, backup] = await Promise.all([createTestBucket('cluster'), createTestBucket('backup')]);
  });
  afterEach(async () => {
    await Promise.all([cluster?.drop(), backup?.drop()]);
  });

  it('passes on a good pool, including an object kept at a conflict location', async () => {
    const objects = randomChunks(50);
    // An earlier backup holds other bytes under one of the keys: this one goes to a conflict location.
    const [conflicted] = [...objects.keys()];
    await backup.s3.send(new PutObjectCommand({ Bucket: backup.name, Key: poolKey(store(), conflicted!), Body: 'older, different bytes' }));
    const summary = await backUp(objects);
    const progress: VerifyPoolProgress[] = [];
    const result = await verify((p) => progress.push(p));
    expect(result).toEqual({ checked: 50, missing: [], wrongSize: [], missingCount: 0, wrongSizeCount: 0 });
    expect(summary.objects).toBe(50);
    expect(progress.at(-1)).toMatchObject({ done: true, checked: 50 });
  });

  it('reports exactly the objects that went missing or changed size', async () => {
    const objects = randomChunks(40);
    const keys = [...objects.keys()].sort();
    const [conflicted] = keys.slice(-1);
    await backup.s3.send(new PutObjectCommand({ Bucket: backup.name, Key: poolKey(store(), conflicted!), Body: 'older, different bytes' }));
    await backUp(objects);

    const [deleted, resized] = [keys[3]!, keys[17]!];
    await backup.s3.send(new DeleteObjectCommand({ Bucket: backup.name, Key: poolKey(store(), deleted) }));
    await backup.s3.send(new PutObjectCommand({ Bucket: backup.name, Key: poolKey(store(), resized), Body: randomBytes(objects.get(resized)!.length + 1) }));
    expect(await verify()).toEqual({ checked: 40, missing: [deleted], wrongSize: [resized], missingCount: 1, wrongSizeCount: 1 });

    // The conflict copy is checked where the inventory says it is, not at the pool key (which still exists).
    const entries: InventoryEntry[] = [];
    for await (const e of readInventory({ s3: backup.s3, bucket: backup.name, key: inventoryKey })) entries.push(e);
    const conflictEntry = entries.find((e) => e.key === conflicted)!;
    expect(conflictEntry.storeKey).not.toBe(poolKey(store(), conflicted!));
    await backup.s3.send(new DeleteObjectCommand({ Bucket: backup.name, Key: conflictEntry.storeKey }));
    expect(await verify()).toMatchObject({ checked: 40, missing: [deleted, conflicted].sort(), missingCount: 2, wrongSizeCount: 1 });
  });

  it('refuses an inventory that is not sorted by key', async () => {
    const a = { key: 'chunk/b', size: 1, etag: '', storeKey: poolKey(store(), 'chunk/b') };
    const b = { key: 'chunk/a', size: 1, etag: '', storeKey: poolKey(store(), 'chunk/a') };
    const err = await verifyInventoryObjects({ s3: backup.s3, store: store(), entries: from([a, b]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PachbackupError);
    expect((err as PachbackupError).code).toBe('integrity');
    expect((err as PachbackupError).message).toContain('inventory');
  });
});
