import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { createObjectCopier, type CopyWarning } from '../../src/object-store/copy-object.js';
import { createS3Client } from '../../src/object-store/s3-client.js';
import type { InventoryEntry } from '../../src/object-store/inventory-entry.js';
import { poolKey } from '../../src/object-store/pool-keys.js';
import { syncToPool } from '../../src/object-store/sync-to-pool.js';
import { createTestBucket, testStore } from '../support/services.js';
import { listAll, putObjects, randomChunks, readObject, recordCommands, sha256, startSecondS3, type SecondS3 } from './s3-fixtures.js';

const MIB = 1024 * 1024;

describe('copying objects', () => {
  // Its own s3rver, so the tests can see the multipart uploads it keeps on disk.
  let s3b: SecondS3;
  beforeAll(async () => {
    s3b = await startSecondS3();
  });
  afterAll(async () => s3b?.stop());

  describe('large objects on one endpoint (server-side; s3rver has no UploadPartCopy)', () => {
    it('copies in parts through the ranged-GET fallback, byte for byte, leaving no upload open, and remembers the fallback', async () => {
      const source = await s3b.createBucket('src');
      const target = await s3b.createBucket('dst');
      const big = randomBytes(13 * MIB + 123);
      const bigger = randomBytes(11 * MIB + 7);
      await putObjects(source.s3, source.name, new Map([['chunk/big', big], ['chunk/bigger', bigger]]));
      const sent = recordCommands(target.s3);
      const copier = createObjectCopier({
        source: { s3: source.s3, store: s3b.store(source.name) },
        target: { s3: target.s3, store: s3b.store(target.name) },
        multipartThreshold: 6 * MIB,
        partSize: 5 * MIB,
      });
      expect(copier.serverSide).toBe(true);
      let reported = 0;
      const method = await copier.copy(
        { sourceKey: 'chunk/big', targetKey: 'objects/chunk/big', size: big.length, etag: '' },
        { onBytes: (n) => (reported += n) },
      );
      expect(method).toBe('multipart-stream');
      expect(reported).toBe(big.length);
      expect(sha256(await readObject(target.s3, target.name, 'objects/chunk/big'))).toBe(sha256(big));
      expect(sent.filter((c) => c.command === 'UploadPartCommand').length).toBe(3);
      expect(copier.capabilities.uploadPartCopy).toBe('unsupported');

      expect(await copier.copy({ sourceKey: 'chunk/bigger', targetKey: 'objects/chunk/bigger', size: bigger.length, etag: '' })).toBe('multipart-stream');
      expect(sha256(await readObject(target.s3, target.name, 'objects/chunk/bigger'))).toBe(sha256(bigger));
      // Only the first object asked the store to copy a part; the second went straight to the fallback.
      expect(sent.filter((c) => c.command === 'UploadPartCopyCommand').length).toBe(1);
      expect(s3b.openUploads(target.name)).toEqual([]);
    });

    it('aborts the upload when cancelled mid-copy and leaves no object behind', async () => {
      const source = await s3b.createBucket('src');
      const target = await s3b.createBucket('dst');
      const big = randomBytes(30 * MIB);
      await putObjects(source.s3, source.name, new Map([['chunk/big', big]]));
      const sent = recordCommands(target.s3);
      const warnings: CopyWarning[] = [];
      const copier = createObjectCopier({
        source: { s3: source.s3, store: s3b.store(source.name) },
        target: { s3: target.s3, store: s3b.store(target.name) },
        multipartThreshold: 6 * MIB,
        partSize: 5 * MIB,
        partConcurrency: 1,
        onWarning: (w) => warnings.push(w),
      });
      const controller = new AbortController();
      let parts = 0;
      const err = await copier
        .copy(
          { sourceKey: 'chunk/big', targetKey: 'objects/chunk/big', size: big.length, etag: '' },
          {
            signal: controller.signal,
            onBytes: () => {
              parts += 1;
              if (parts === 2) controller.abort();
            },
          },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PachbackupError);
      expect((err as PachbackupError).code).toBe('cancelled');
      expect(parts).toBeLessThan(6);
      const head = await target.s3.send(new HeadObjectCommand({ Bucket: target.name, Key: 'objects/chunk/big' })).catch((e: unknown) => e);
      expect((head as { name?: string }).name).toBe('NotFound');
      const uploadId = sent.find((c) => c.command === 'CreateMultipartUploadCommand')?.output?.UploadId;
      expect(uploadId).toBeTypeOf('string');
      expect(sent.some((c) => c.command === 'CompleteMultipartUploadCommand')).toBe(false);
      const abortAt = sent.findIndex((c) => c.command === 'AbortMultipartUploadCommand' && c.input.UploadId === uploadId);
      expect(abortAt).toBeGreaterThan(0);
      // Sent after every part request, so no part can land after the abort.
      expect(sent.slice(abortAt + 1).some((c) => c.command === 'UploadPartCommand')).toBe(false);
      // s3rver answers AbortMultipartUpload with 405, so its parts stay on its disk: reported, not hidden.
      if (s3b.openUploads(target.name).length > 0) expect(warnings.map((w) => w.uploadId)).toEqual([uploadId]);
    });

    it('syncs a mix of large and small objects', async () => {
      const source = await s3b.createBucket('src');
      const target = await s3b.createBucket('dst');
      const objects = randomChunks(20);
      objects.set('chunk/zz-large', randomBytes(7 * MIB + 5));
      await putObjects(source.s3, source.name, objects);
      const result = await syncToPool({
        source: { s3: source.s3, store: s3b.store(source.name) },
        target: { s3: target.s3, store: s3b.store(target.name, 'b') },
        multipartThreshold: 6 * MIB,
        partSize: 5 * MIB,
      });
      expect(result).toMatchObject({ listed: 21, copied: 21 });
      for (const [key, body] of objects) expect(sha256(await readObject(target.s3, target.name, poolKey({ prefix: 'b' }, key)))).toBe(sha256(body));
      expect(s3b.openUploads(target.name)).toEqual([]);
    });
  });

  describe('many small objects on one endpoint (CopyObject)', () => {
    it('copies into two buckets at once through one shared client, every object into its own bucket', async () => {
      // The worker shares one client per store service: two operations may copy through it into different buckets.
      const source = await s3b.createBucket('src');
      const targets = [await s3b.createBucket('dsta'), await s3b.createBucket('dstb')];
      const shared = s3b.client(source.name);
      const objects = randomChunks(300, 10, 200);
      await putObjects(source.s3, source.name, objects);
      const results = await Promise.all(
        targets.map((target, i) =>
          syncToPool({ source: { s3: shared, store: s3b.store(source.name) }, target: { s3: shared, store: s3b.store(target.name, `p${i}`) }, concurrency: 32 }),
        ),
      );
      expect(results.map((r) => r.copied)).toEqual([300, 300]);
      for (const [i, target] of targets.entries()) {
        const stored = await listAll(target.s3, target.name);
        expect([...stored.keys()].sort()).toEqual([...objects.keys()].map((key) => poolKey({ prefix: `p${i}` }, key)).sort());
      }
    });

    it('copies keys whatever characters they hold, those the copy source must encode and those it need not', async () => {
      const source = await s3b.createBucket('src');
      const target = await s3b.createBucket('dst');
      // Not '+', '#', '?', '&' or '%': s3rver decodes the copy source with decodeURI, which leaves their escapes.
      const keys = ['chunk/0a1b2c', "plain/it's-(1)_v2.~x*!", 'space/a b', 'unicode/ü€😀', 'deep/er/and/deeper'];
      const objects = new Map(keys.map((key) => [key, randomBytes(64)]));
      await putObjects(source.s3, source.name, objects);
      const sent = recordCommands(target.s3);
      const result = await syncToPool({ source: { s3: source.s3, store: s3b.store(source.name) }, target: { s3: target.s3, store: s3b.store(target.name, 'k') } });
      expect(result).toMatchObject({ listed: keys.length, copied: keys.length });
      for (const [key, body] of objects) expect(sha256(await readObject(target.s3, target.name, poolKey({ prefix: 'k' }, key)))).toBe(sha256(body));
      expect(sent.filter((c) => c.command === 'CopyObjectCommand')).toHaveLength(keys.length);
    });

    it('stops waiting for a copy the store never answers when cancelled', async () => {
      // A store that takes connections and answers nothing: only the signal can end the copy.
      const held: Socket[] = [];
      const silent = createServer((socket) => void held.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
      const s3 = createS3Client(testStore('silent-src', '', endpoint));
      try {
        const copier = createObjectCopier({ source: { s3, store: testStore('silent-src', '', endpoint) }, target: { s3, store: testStore('silent-dst', '', endpoint) } });
        expect(copier.serverSide).toBe(true);
        const controller = new AbortController();
        const copy = copier.copy({ sourceKey: 'chunk/a', targetKey: 'chunk/a', size: 10, etag: '' }, { signal: controller.signal });
        while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        controller.abort(new Error('run cancelled'));
        await expect(copy).rejects.toMatchObject({ code: 'cancelled' });
      } finally {
        s3.destroy();
        for (const socket of held) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });

  describe('across endpoints (streamed through this process)', () => {
    it('copies objects from another s3rver byte for byte, large ones in parts', async () => {
      const source = await s3b.createBucket('remote');
      const backup = await createTestBucket('backup');
      try {
        const objects = randomChunks(30, 1, 300_000);
        objects.set('chunk/large', randomBytes(12 * MIB + 1));
        objects.set('chunk/empty', Buffer.alloc(0));
        await putObjects(source.s3, source.name, objects);
        const sent = recordCommands(backup.s3);
        const result = await syncToPool({
          source: { s3: source.s3, store: s3b.store(source.name) },
          target: { s3: backup.s3, store: testStore(backup.name, 'p') },
          multipartThreshold: 6 * MIB,
          partSize: 5 * MIB,
        });
        expect(result).toMatchObject({ listed: 32, copied: 32 });
        for (const [key, body] of objects) expect(sha256(await readObject(backup.s3, backup.name, poolKey({ prefix: 'p' }, key)))).toBe(sha256(body));
        // Bytes went through us: no server-side copy was even attempted.
        expect(sent.some((c) => c.command === 'CopyObjectCommand' || c.command === 'UploadPartCopyCommand')).toBe(false);
        expect(sent.filter((c) => c.command === 'UploadPartCommand').length).toBe(3);
      } finally {
        await backup.drop();
      }
    });
  });
});

describe('a source store that dies mid-copy', () => {
  let dying: SecondS3;
  beforeAll(async () => {
    dying = await startSecondS3();
  });
  afterAll(async () => dying?.stop());

  it('fails the sync as unavailable (retryable) without crashing, and the next run ends with the right bytes', async () => {
    const source = await dying.createBucket('src');
    const backup = await createTestBucket('backup');
    try {
      const big = randomBytes(96 * MIB);
      await putObjects(source.s3, source.name, new Map([['chunk/big', big]]));
      const sync = (onObject?: (e: InventoryEntry) => void) =>
        syncToPool({
          source: { s3: source.s3, store: dying.store(source.name) },
          target: { s3: backup.s3, store: testStore(backup.name) },
          ...(onObject ? { onObject } : {}),
        });
      const failing = sync().catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 150));
      await dying.kill();
      const err = await failing;
      expect(err).toBeInstanceOf(PachbackupError);
      expect((err as PachbackupError).code).toBe('unavailable');
      expect((err as PachbackupError).retryable).toBe(true);

      // s3rver keeps whatever part of an interrupted PUT it received (real S3 discards it); either way the next
      // run must end with the inventory pointing at the whole object.
      await dying.restart();
      const seen: InventoryEntry[] = [];
      await sync((e) => void seen.push(e));
      expect(seen).toHaveLength(1);
      expect(sha256(await readObject(backup.s3, backup.name, seen[0]!.storeKey))).toBe(sha256(big));
    } finally {
      await backup.drop();
    }
  });
});
