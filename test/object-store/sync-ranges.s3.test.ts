import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readInventory } from '../../src/object-store/inventory.js';
import { splitKeySpace } from '../../src/object-store/key-ranges.js';
import { uploadListingAsInventory } from '../../src/object-store/saved-listing.js';
import { syncRangesToPool } from '../../src/object-store/sync-ranges.js';
import { createTestBucket, testStore } from '../support/services.js';
import { listAll, putObjects, randomChunks, readObject } from './s3-fixtures.js';

type Bucket = Awaited<ReturnType<typeof createTestBucket>>;
let cluster: Bucket;
let backup: Bucket;
let dir: string;
beforeEach(async () => {
  [cluster, backup] = await Promise.all([createTestBucket('cluster'), createTestBucket('backup')]);
  dir = mkdtempSync(join(tmpdir(), 'pachbackup-ranges-'));
});
afterEach(async () => {
  await Promise.all([cluster.drop(), backup.drop()]);
  rmSync(dir, { recursive: true, force: true });
});

const endpoints = () => ({ source: { s3: cluster.s3, store: testStore(cluster.name) }, target: { s3: backup.s3, store: testStore(backup.name, 'store') } });

/** Keys Pachyderm writes, and keys of every other shape, including the cut points themselves and keys around them. */
function oddKeys(): Map<string, Buffer> {
  const keys = ['a', 'chunk/', 'chunk/4', 'chunk/40', 'chunk/3zzz', 'chunk/G', 'chunk/ff', 'chunk0', 'test/6a3e1c', 'zzz', '.versions/x', 'ü/ñ'];
  return new Map(keys.map((k, i) => [k, Buffer.from(`odd ${i}`)]));
}

describe('copying the cluster bucket range by range', () => {
  it('copies every object once, whatever its key, and keeps a listing equal to the bucket, in key order', async () => {
    const objects = new Map([...randomChunks(120, 10, 200), ...oddKeys()]);
    await putObjects(cluster.s3, cluster.name, objects);
    const first = await syncRangesToPool({ ...endpoints(), ranges: splitKeySpace(8, 'chunk/'), outputDir: join(dir, 'one'), listConcurrency: 8, pageSize: 40 });
    expect(first).toMatchObject({ listed: objects.size, copied: objects.size, skipped: 0 });
    const pool = await listAll(backup.s3, backup.name, 'store/objects/');
    for (const [key, body] of objects) {
      const storeKey = key.startsWith('.versions/') ? [...pool.keys()].find((k) => k.endsWith(`/${key}`))! : `store/objects/${key}`;
      expect((await readObject(backup.s3, backup.name, storeKey)).equals(body), key).toBe(true);
    }
    const summary = await uploadListingAsInventory(first.listing, { s3: backup.s3, bucket: backup.name, key: 'inventory.ndjson.gz' });
    const inventory = [];
    for await (const e of readInventory({ s3: backup.s3, bucket: backup.name, key: 'inventory.ndjson.gz', expectedSha256: summary.sha256 })) inventory.push(e.key);
    expect(inventory).toEqual([...(await listAll(cluster.s3, cluster.name)).keys()]);
    expect(summary.objects).toBe(objects.size);
  });

  it("writes the pause's listing uncompressed, and the inventory made of it is compressed and equal to the bucket", async () => {
    const objects = randomChunks(400, 10, 100);
    await putObjects(cluster.s3, cluster.name, objects);
    const ranges = splitKeySpace(4, 'chunk/');
    const compressed = await syncRangesToPool({ ...endpoints(), ranges, outputDir: join(dir, 'compressed') });
    const paused = await syncRangesToPool({ ...endpoints(), ranges, previous: compressed.listing, outputDir: join(dir, 'paused'), compressListing: false });
    const onDisk = (listing: typeof paused.listing) => listing.parts.reduce((n, p) => n + statSync(p.file).size, 0);
    // Stored, not compressed: bigger on disk than the same entries compressed.
    expect(onDisk(paused.listing)).toBeGreaterThan(2 * onDisk(compressed.listing));

    const summary = await uploadListingAsInventory(paused.listing, { s3: backup.s3, bucket: backup.name, key: 'inventory.ndjson.gz' });
    expect(summary.compressedBytes).toBeLessThan(onDisk(paused.listing) / 2);
    const inventory = [];
    for await (const e of readInventory({ s3: backup.s3, bucket: backup.name, key: 'inventory.ndjson.gz', expectedSha256: summary.sha256 })) inventory.push(e.key);
    expect(inventory).toEqual([...(await listAll(cluster.s3, cluster.name)).keys()]);
    expect(summary.objects).toBe(400);
  });

  it('compares a later pass with what the last pass saw, not with the pool: only what arrived since is copied', async () => {
    await putObjects(cluster.s3, cluster.name, randomChunks(200, 10, 100));
    const ranges = splitKeySpace(4, 'chunk/');
    const first = await syncRangesToPool({ ...endpoints(), ranges, outputDir: join(dir, 'one') });
    // The pool loses an object the first pass copied: a pass that listed the pool would copy it again.
    const lost = [...(await listAll(backup.s3, backup.name, "store/objects/chunk/")).keys()][0]!;
    await backup.s3.send(new DeleteObjectCommand({ Bucket: backup.name, Key: lost }));
    const arrived = randomChunks(7, 10, 100);
    await putObjects(cluster.s3, cluster.name, arrived);
    // One arrival's key is already in the pool with other bytes: it must go beside them, not over them.
    const clashKey = [...arrived.keys()][0]!;
    await backup.s3.send(new PutObjectCommand({ Bucket: backup.name, Key: `store/objects/${clashKey}`, Body: 'other bytes, other size' }));

    const second = await syncRangesToPool({ ...endpoints(), ranges, previous: first.listing, outputDir: join(dir, 'two') });
    expect(second).toMatchObject({ listed: 207, copied: 7, skipped: 200, conflicts: 1 });
    expect((await listAll(backup.s3, backup.name, 'store/objects/')).has(lost)).toBe(false);
    expect((await readObject(backup.s3, backup.name, `store/objects/${clashKey}`)).toString()).toBe('other bytes, other size');
    const summary = await uploadListingAsInventory(second.listing, { s3: backup.s3, bucket: backup.name, key: 'inv' });
    for await (const e of readInventory({ s3: backup.s3, bucket: backup.name, key: 'inv', expectedSha256: summary.sha256 })) {
      if (e.key === clashKey) {
        expect(e.storeKey).toMatch(/^store\/objects\/\.versions\//);
        expect((await readObject(backup.s3, backup.name, e.storeKey)).equals(arrived.get(clashKey)!)).toBe(true);
      } else {
        expect(e.storeKey).toBe(`store/objects/${e.key}`);
      }
    }
  });

  it('stops at the first failure and keeps no listing part open', async () => {
    await putObjects(cluster.s3, cluster.name, randomChunks(50, 10, 100));
    const controller = new AbortController();
    controller.abort();
    await expect(syncRangesToPool({ ...endpoints(), ranges: splitKeySpace(4, 'chunk/'), outputDir: join(dir, 'x'), signal: controller.signal })).rejects.toMatchObject({ code: 'cancelled' });
    const missing = { ...endpoints(), source: { s3: cluster.s3, store: testStore('no-such-bucket-here') } };
    await expect(syncRangesToPool({ ...missing, ranges: splitKeySpace(4, 'chunk/'), outputDir: join(dir, 'y') })).rejects.toMatchObject({ code: 'not-found' });
  });
});
