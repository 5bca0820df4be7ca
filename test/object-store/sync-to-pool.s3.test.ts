import { randomBytes } from 'node:crypto';
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import type { InventoryEntry } from '../../src/object-store/inventory-entry.js';
import { compareKeys } from '../../src/object-store/key-order.js';
import { conflictKey, poolKey } from '../../src/object-store/pool-keys.js';
import { syncToPool, type SyncProgress, type SyncToPoolOptions } from '../../src/object-store/sync-to-pool.js';
import { createTestBucket, testStore } from '../support/services.js';
import { listAll, putObjects, randomChunks, readObject, sha256 } from './s3-fixtures.js';

describe('syncToPool on s3rver', () => {
  let cluster: Awaited<ReturnType<typeof createTestBucket>>;
  let backup: Awaited<ReturnType<typeof createTestBucket>>;
  // The cluster's keys start under a prefix, and the backup store has its own: both must be honoured.
  const clusterStore = () => testStore(cluster.name, 'pach');
  const backupStore = () => testStore(backup.name, 'backups/prod');
  const sync = (extra: Partial<SyncToPoolOptions> = {}) =>
    syncToPool({ source: { s3: cluster.s3, store: clusterStore() }, target: { s3: backup.s3, store: backupStore() }, ...extra });
  const put = (objects: Map<string, Buffer>) => putObjects(cluster.s3, cluster.name, new Map([...objects].map(([k, v]) => [`pach/${k}`, v])));
  const poolContents = async () => {
    const all = await listAll(backup.s3, backup.name, 'backups/prod/objects/');
    return new Map([...all].map(([k, v]) => [k.slice('backups/prod/objects/'.length), v]));
  };

  beforeEach(async () => {
    [cluster, backup] = await Promise.all([createTestBucket('cluster'), createTestBucket('backup')]);
  });
  afterEach(async () => {
    await Promise.all([cluster?.drop(), backup?.drop()]);
  });

  it('copies everything once, then only what is new, and never deletes from the pool', async () => {
    const first = randomChunks(60);
    await put(first);
    // Objects outside the cluster store's prefix are not the cluster's.
    await cluster.s3.send(new PutObjectCommand({ Bucket: cluster.name, Key: 'other/x', Body: 'not pachyderm' }));

    const seen: InventoryEntry[] = [];
    const progress: SyncProgress[] = [];
    const result = await sync({ onObject: (e) => void seen.push(e), onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ listed: 60, copied: 60, skipped: 0, conflicts: 0 });
    expect(result.listedBytes).toBe([...first.values()].reduce((n, b) => n + b.length, 0));
    expect(result.copiedBytes).toBe(result.listedBytes);
    for (const [key, body] of first) {
      expect(sha256(await readObject(backup.s3, backup.name, poolKey(backupStore(), key)))).toBe(sha256(body));
    }
    expect(seen.map((e) => e.key)).toEqual([...first.keys()].sort(compareKeys));
    expect(seen.every((e) => e.storeKey === poolKey(backupStore(), e.key) && e.size === first.get(e.key)!.length && /^[0-9a-f]{32}$/.test(e.etag))).toBe(true);
    expect(progress.at(-1)).toMatchObject({ done: true, listed: 60, copied: 60, copying: 0 });

    const again = await sync();
    expect(again).toMatchObject({ listed: 60, copied: 0, copiedBytes: 0, skipped: 60 });

    const added = randomChunks(10);
    await put(added);
    const copiedKeys: string[] = [];
    const third = await sync({ onObject: (e) => void (first.has(e.key) ? undefined : copiedKeys.push(e.key)) });
    expect(third).toMatchObject({ listed: 70, copied: 10, skipped: 60 });
    expect(copiedKeys.sort()).toEqual([...added.keys()].sort());

    // The cluster garbage-collects five chunks: the pool keeps them (older backups still reference them).
    const gone = [...first.keys()].slice(0, 5);
    await cluster.s3.send(new DeleteObjectsCommand({ Bucket: cluster.name, Delete: { Objects: gone.map((k) => ({ Key: `pach/${k}` })) } }));
    const fourth = await sync();
    expect(fourth).toMatchObject({ listed: 65, copied: 0 });
    const pool = await poolContents();
    expect(pool.size).toBe(70);
    for (const key of gone) expect(pool.get(key)).toBe(first.get(key)!.length);
  });

  it('keeps both objects when the cluster holds different bytes under a key the pool already has', async () => {
    const objects = randomChunks(5);
    await put(objects);
    await sync();
    const [key, original] = [...objects][2]!;
    const replacement = randomBytes(original.length + 17);
    await put(new Map([[key, replacement]]));

    const seen: InventoryEntry[] = [];
    const result = await sync({ onObject: (e) => void seen.push(e) });
    expect(result).toMatchObject({ listed: 5, copied: 1, conflicts: 1, skipped: 4 });
    const entry = seen.find((e) => e.key === key)!;
    expect(entry.storeKey).toBe(conflictKey(backupStore(), key, entry.etag));
    expect(sha256(await readObject(backup.s3, backup.name, entry.storeKey))).toBe(sha256(replacement));
    expect(sha256(await readObject(backup.s3, backup.name, poolKey(backupStore(), key)))).toBe(sha256(original));

    // Next time the conflict copy is found where it was put: nothing is copied, the key still points there.
    const seenAgain: InventoryEntry[] = [];
    const again = await sync({ onObject: (e) => void seenAgain.push(e) });
    expect(again).toMatchObject({ listed: 5, copied: 0, conflicts: 1, skipped: 5 });
    expect(seenAgain.find((e) => e.key === key)!.storeKey).toBe(entry.storeKey);
    // The pool holds exactly the five originals and the one conflict copy.
    expect((await poolContents()).size).toBe(6);
  });

  it('copies more than one listing page of objects', async () => {
    const objects = randomChunks(1200, 10, 200);
    await put(objects);
    const result = await sync();
    expect(result).toMatchObject({ listed: 1200, copied: 1200 });
    const pool = await poolContents();
    expect(pool.size).toBe(1200);
    for (const [key, body] of objects) expect(pool.get(key)).toBe(body.length);
    expect(await sync()).toMatchObject({ listed: 1200, copied: 0, skipped: 1200 });
  }, 180_000); // 1,200 puts and 1,200 copies on s3rver: seconds alone, a minute on a loaded machine

  it('stops when cancelled, throws cancelled, and leaves no partial objects', async () => {
    const objects = randomChunks(200, 1000, 50_000);
    await put(objects);
    const controller = new AbortController();
    let seen = 0;
    const err = await sync({
      concurrency: 4,
      signal: controller.signal,
      onObject: () => {
        seen += 1;
        if (seen === 20) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PachbackupError);
    expect((err as PachbackupError).code).toBe('cancelled');
    expect(seen).toBeLessThan(200);
    const pool = await poolContents();
    expect(pool.size).toBeLessThan(200);
    for (const [key, size] of pool) expect(size).toBe(objects.get(key)!.length);
    // The next run completes the job. (A server-side copy the store had already started may still land after
    // the cancellation: aborting a request does not undo it, and it is whole or absent.)
    const next = await sync();
    expect(next.listed).toBe(200);
    expect(next.copied).toBeLessThanOrEqual(200 - pool.size);
    const finalPool = await poolContents();
    expect(finalPool.size).toBe(200);
    for (const [key, body] of objects) expect(finalPool.get(key)).toBe(body.length);
  });

  it('fails with not-found, copying nothing, when the backup bucket does not exist', async () => {
    await put(randomChunks(3));
    const err = await syncToPool({
      source: { s3: cluster.s3, store: clusterStore() },
      target: { s3: backup.s3, store: testStore(`${backup.name}-missing`, '') },
    }).catch((e: unknown) => e);
    expect((err as PachbackupError).code).toBe('not-found');
  });

  it('refuses a backup pool inside the cluster objects it would copy', async () => {
    await put(randomChunks(3));
    const err = await syncToPool({
      source: { s3: cluster.s3, store: testStore(cluster.name, '') },
      target: { s3: cluster.s3, store: testStore(cluster.name, 'backups') },
    }).catch((e: unknown) => e);
    expect((err as PachbackupError).code).toBe('config-invalid');
    // Beside the cluster's prefix in the same bucket is fine.
    const ok = await syncToPool({ source: { s3: cluster.s3, store: clusterStore() }, target: { s3: cluster.s3, store: testStore(cluster.name, 'backups') } });
    expect(ok.copied).toBe(3);
  });
});
