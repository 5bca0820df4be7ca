import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitKeySpace } from '../../src/object-store/key-ranges.js';
import { readListingPart, reshapeListing, type SavedListing } from '../../src/object-store/saved-listing.js';
import { syncRangesToPool } from '../../src/object-store/sync-ranges.js';
import { createTestBucket, testStore } from '../support/services.js';
import { putObjects, randomChunks, recordCommands } from './s3-fixtures.js';

type Bucket = Awaited<ReturnType<typeof createTestBucket>>;
let cluster: Bucket;
let backup: Bucket;
let dir: string;
beforeEach(async () => {
  [cluster, backup] = await Promise.all([createTestBucket('cluster'), createTestBucket('backup')]);
  dir = mkdtempSync(join(tmpdir(), 'pachbackup-recut-'));
});
afterEach(async () => {
  await Promise.all([cluster.drop(), backup.drop()]);
  rmSync(dir, { recursive: true, force: true });
});

const endpoints = () => ({ source: { s3: cluster.s3, store: testStore(cluster.name) }, target: { s3: backup.s3, store: testStore(backup.name, 'store') } });

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
