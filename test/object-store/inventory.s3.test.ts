import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { createInventoryWriter, readInventory } from '../../src/object-store/inventory.js';
import type { InventoryEntry } from '../../src/object-store/inventory-entry.js';
import { createTestBucket } from '../support/services.js';
import { collect, readObject, sha256 } from './s3-fixtures.js';

function entries(count: number): InventoryEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const id = randomBytes(32).toString('hex');
    const key = `chunk/${i.toString(16).padStart(6, '0')}${id}.0000000000000001`;
    return { key, size: (i * 7919) % 5_000_000, etag: randomBytes(16).toString('hex'), storeKey: `b/objects/${key}` };
  });
}

describe('the inventory file', () => {
  let bucket: Awaited<ReturnType<typeof createTestBucket>>;
  beforeEach(async () => {
    bucket = await createTestBucket('inventory');
  });
  afterEach(async () => bucket?.drop());

  const write = async (items: InventoryEntry[], key = 'backups/c/1/inventory.ndjson.gz', partSize?: number) => {
    const writer = createInventoryWriter({ s3: bucket.s3, bucket: bucket.name, key, ...(partSize ? { partSize } : {}) });
    for (const item of items) await writer.add(item);
    return writer.close();
  };

  it('reads back exactly what was written, and its summary describes the stored file', async () => {
    const items = entries(1500);
    // Some keys need JSON escaping.
    items.push({ key: 'test/quote"back\\slash\nnewline é 😀', size: 0, etag: '', storeKey: 'b/objects/.versions/e/test/x' });
    const summary = await write(items);
    expect(summary.objects).toBe(1501);
    expect(summary.bytes).toBe(items.reduce((n, e) => n + e.size, 0));
    const stored = await readObject(bucket.s3, bucket.name, 'backups/c/1/inventory.ndjson.gz');
    expect(summary.compressedBytes).toBe(stored.length);
    expect(summary.sha256).toBe(sha256(stored));

    const read = await collect(readInventory({ s3: bucket.s3, bucket: bucket.name, key: 'backups/c/1/inventory.ndjson.gz', expectedSha256: summary.sha256 }));
    expect(read).toEqual(items);
  });

  it('streams an inventory bigger than one upload part', async () => {
    // ~150,000 entries of random hex: about 9 MB compressed, so the upload goes in two parts.
    const items = entries(150_000);
    const summary = await write(items, 'big.ndjson.gz', 5 * 1024 * 1024);
    expect(summary.compressedBytes).toBeGreaterThan(5 * 1024 * 1024);
    let count = 0;
    let mismatches = 0;
    for await (const entry of readInventory({ s3: bucket.s3, bucket: bucket.name, key: 'big.ndjson.gz', expectedSha256: summary.sha256 })) {
      if (entry.key !== items[count]?.key || entry.size !== items[count]?.size) mismatches += 1;
      count += 1;
    }
    expect({ count, mismatches }).toEqual({ count: 150_000, mismatches: 0 });
  });

  it('writes an empty inventory', async () => {
    const summary = await write([]);
    expect(summary).toMatchObject({ objects: 0, bytes: 0 });
    expect(await collect(readInventory({ s3: bucket.s3, bucket: bucket.name, key: 'backups/c/1/inventory.ndjson.gz' }))).toEqual([]);
  });

  it('leaves nothing behind when aborted', async () => {
    const writer = createInventoryWriter({ s3: bucket.s3, bucket: bucket.name, key: 'aborted.ndjson.gz' });
    for (const item of entries(100)) await writer.add(item);
    await writer.abort();
    const head = await bucket.s3.send(new HeadObjectCommand({ Bucket: bucket.name, Key: 'aborted.ndjson.gz' })).catch((e: unknown) => e);
    expect((head as { name?: string }).name).toBe('NotFound');
    await expect(writer.add(entries(1)[0]!)).rejects.toBeInstanceOf(PachbackupError);
  });

  describe('a damaged file fails clearly', () => {
    const readFrom = async (body: Uint8Array, expectedSha256?: string) => {
      await bucket.s3.send(new PutObjectCommand({ Bucket: bucket.name, Key: 'bad.ndjson.gz', Body: body }));
      return collect(readInventory({ s3: bucket.s3, bucket: bucket.name, key: 'bad.ndjson.gz', ...(expectedSha256 ? { expectedSha256 } : {}) })).catch(
        (e: unknown) => e,
      );
    };
    const expectCorrupt = (err: unknown, detail: RegExp) => {
      expect(err).toBeInstanceOf(PachbackupError);
      expect((err as PachbackupError).code).toBe('integrity');
      expect((err as PachbackupError).message).toContain('bad.ndjson.gz');
      expect((err as PachbackupError).message).toMatch(detail);
    };

    it('not gzip at all', async () => {
      expectCorrupt(await readFrom(Buffer.from('{"key":"a","size":1,"etag":"","storeKey":"x"}\n')), /gzip/);
    });

    it('cut short', async () => {
      await write(entries(2000), 'good.ndjson.gz');
      const whole = await readObject(bucket.s3, bucket.name, 'good.ndjson.gz');
      expectCorrupt(await readFrom(whole.subarray(0, Math.floor(whole.length / 2))), /gzip/);
    });

    it('a line that is not an entry', async () => {
      const good = JSON.stringify({ key: 'a', size: 1, etag: 'e', storeKey: 'x' });
      expectCorrupt(await readFrom(gzipSync(`${good}\n{"key":"b","size":"12"}\n`)), /line 2/);
      expectCorrupt(await readFrom(gzipSync(`${good}\nnot json\n`)), /line 2/);
    });

    it('bytes that differ from the manifest', async () => {
      const body = gzipSync(`${JSON.stringify({ key: 'a', size: 1, etag: 'e', storeKey: 'x' })}\n`);
      expectCorrupt(await readFrom(body, '0'.repeat(64)), /SHA-256/);
      expect(await readFrom(body, sha256(body))).toEqual([{ key: 'a', size: 1, etag: 'e', storeKey: 'x' }]);
    });

    it('a missing file is not-found, not corrupt', async () => {
      const err = await collect(readInventory({ s3: bucket.s3, bucket: bucket.name, key: 'nope.ndjson.gz' })).catch((e: unknown) => e);
      expect((err as PachbackupError).code).toBe('not-found');
    });
  });
});
