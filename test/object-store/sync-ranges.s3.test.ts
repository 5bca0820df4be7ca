import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readInventory } from '../../src/object-store/inventory.js';
import { splitKeySpace } from '../../src/object-store/key-ranges.js';
import { readListingPart, reshapeListing, uploadListingAsInventory, type SavedListing } from '../../src/object-store/saved-listing.js';
import { syncRangesToPool } from '../../src/object-store/sync-ranges.js';
import { createTestBucket, testStore } from '../support/services.js';
import { listAll, putObjects, randomChunks, readObject, recordCommands } from './s3-fixtures.js';

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
    // One arrival's key is already in the pool with other bytes: it must go beside them, not over them. A key
    // held with the same size counts as the same bytes (Pachyderm's keys name their content), so the other bytes
    // are longer than any arrival (10–100 bytes).
    const clashKey = [...arrived.keys()][0]!;
    const otherBytes = 'other bytes, other size'.padEnd(150, '.');
    await backup.s3.send(new PutObjectCommand({ Bucket: backup.name, Key: `store/objects/${clashKey}`, Body: otherBytes }));

    const second = await syncRangesToPool({ ...endpoints(), ranges, previous: first.listing, outputDir: join(dir, 'two') });
    expect(second).toMatchObject({ listed: 207, copied: 7, skipped: 200, conflicts: 1 });
    expect((await listAll(backup.s3, backup.name, 'store/objects/')).has(lost)).toBe(false);
    expect((await readObject(backup.s3, backup.name, `store/objects/${clashKey}`)).toString()).toBe(otherBytes);
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

async function entriesOf(listing: SavedListing): Promise<string[]> {
  const keys: string[] = [];
  for (const part of listing.parts) for await (const e of readListingPart(part.file)) keys.push(`${e.key} ${e.size} ${e.etag} ${e.storeKey}`);
  return keys;
}

/** Per range of the pass, how many ListObjectsV2 requests it sent one after another (a chain of continuation tokens). */
function listRequestsPerRange(sent: ReturnType<typeof recordCommands>): number[] {
  const chains: number[] = [];
  const chainOfToken = new Map<unknown, number>();
  for (const c of sent.filter((s) => s.command === 'ListObjectsV2Command')) {
    let chain = chainOfToken.get(c.input.ContinuationToken);
    if (c.input.ContinuationToken === undefined) chains.push(0), (chain = chains.length - 1);
    expect(chain, 'a continuation token no earlier page gave').toBeDefined();
    chains[chain!]! += 1;
    if (c.output?.NextContinuationToken !== undefined) chainOfToken.set(c.output.NextContinuationToken, chain!);
  }
  return chains;
}

describe("the pre-copy's listing, re-cut for the pause", () => {
  // A page of 10 keys stands for S3's 1,000: 300 objects listed in 2 ranges is 15+ requests in a row each.
  const pageSize = 10;

  it('lists the paused bucket in listConcurrency ranges of whole pages, however few ranges the pre-copy used', async () => {
    const objects = randomChunks(300, 10, 50);
    await putObjects(cluster.s3, cluster.name, objects);
    const pre = await syncRangesToPool({ ...endpoints(), ranges: splitKeySpace(2, 'chunk/'), outputDir: join(dir, 'pre'), pageSize });
    const recut = await reshapeListing(pre.listing, { outputDir: join(dir, 'recut'), listConcurrency: 6, pageSize });

    // Same entries, same order, in 6 ranges that still cover every key.
    expect(recut.ranges).toHaveLength(6);
    expect(await entriesOf(recut)).toEqual(await entriesOf(pre.listing));
    expect(recut.ranges[0]!.after).toBeUndefined();
    expect(recut.ranges.at(-1)!.through).toBeUndefined();
    for (let i = 1; i < recut.ranges.length; i++) expect(recut.ranges[i]!.after).toBe(recut.ranges[i - 1]!.through);

    // What arrives before the pause lands in whichever range its key falls in, and is copied once.
    const arrived = randomChunks(6, 10, 50);
    await putObjects(cluster.s3, cluster.name, arrived);
    const sent = recordCommands(cluster.s3);
    const pause = await syncRangesToPool({ ...endpoints(), ranges: recut.ranges, previous: recut, outputDir: join(dir, 'pause'), listConcurrency: 6, pageSize });
    expect(pause).toMatchObject({ listed: 306, copied: 6, skipped: 300 });
    // 306 keys over 6 ranges in pages of 10: ⌈306 × 1.1 / (10 × 6)⌉ = 6 requests in a row at most, not 16.
    const perRange = listRequestsPerRange(sent);
    expect(perRange).toHaveLength(6);
    expect(Math.max(...perRange)).toBeLessThanOrEqual(6);
  });

  it('leaves a listing alone when its ranges already list as fast', async () => {
    // 40 keys in 4 ranges listed 4 at a time: two pages each, as any cut into 4 ranges would be.
    await putObjects(cluster.s3, cluster.name, randomChunks(40, 10, 50));
    const pre = await syncRangesToPool({ ...endpoints(), ranges: splitKeySpace(4, 'chunk/'), outputDir: join(dir, 'pre'), pageSize });
    expect(await reshapeListing(pre.listing, { outputDir: join(dir, 'recut'), listConcurrency: 4, pageSize })).toBe(pre.listing);
  });

  it('keeps an empty bucket as it is', async () => {
    const pre = await syncRangesToPool({ ...endpoints(), ranges: splitKeySpace(3, 'chunk/'), outputDir: join(dir, 'pre'), pageSize });
    expect(await reshapeListing(pre.listing, { outputDir: join(dir, 'recut'), listConcurrency: 8, pageSize })).toBe(pre.listing);
  });
});
