import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type ListObjectsV2CommandInput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBucket } from '../support/services.js';

describe('the sandbox S3 server (s3rver) through @aws-sdk/client-s3', () => {
  let bucket: Awaited<ReturnType<typeof createTestBucket>>;
  beforeAll(async () => {
    bucket = await createTestBucket('list');
  });
  afterAll(async () => bucket?.drop());

  it('lists more than 1000 objects across pages', async () => {
    const keys = Array.from({ length: 1105 }, (_, i) => `chunk/${i.toString(16).padStart(8, '0')}.0000000000000001`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < keys.length) {
          const key = keys[next++]!;
          await bucket.s3.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: key }));
        }
      }),
    );
    const listed: string[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const page = await bucket.s3.send(new ListObjectsV2Command({ Bucket: bucket.name, ContinuationToken: token }));
      listed.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
      pages += 1;
    } while (token);
    expect(pages).toBeGreaterThan(1);
    expect(listed.sort()).toEqual([...keys].sort());
  });

  it('lists in key order by prefix, delimiter and StartAfter, and follows puts, copies and deletes made after a listing', async () => {
    const other = await createTestBucket('order');
    try {
      const put = (key: string) => other.s3.send(new PutObjectCommand({ Bucket: other.name, Key: key, Body: key }));
      const list = async (input: Omit<ListObjectsV2CommandInput, 'Bucket'>) => {
        const keys: string[] = [];
        const prefixes: string[] = [];
        let token: string | undefined;
        do {
          const page = await other.s3.send(new ListObjectsV2Command({ Bucket: other.name, MaxKeys: 2, ...input, ContinuationToken: token }));
          keys.push(...(page.Contents ?? []).map((o) => o.Key!));
          prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
          token = page.NextContinuationToken;
        } while (token);
        return { keys, prefixes };
      };
      // Written in an order unlike key order, in nested folders, before anything was listed.
      for (const key of ['chunk/f0.1', 'chunk/0a.1', 'backups/b/m.json', 'chunk/7c.1', 'backups/a/m.json', 'top', 'chunk/7b.2']) await put(key);
      expect((await list({})).keys).toEqual(['backups/a/m.json', 'backups/b/m.json', 'chunk/0a.1', 'chunk/7b.2', 'chunk/7c.1', 'chunk/f0.1', 'top']);
      expect((await list({ Prefix: 'chunk/', StartAfter: 'chunk/7b.2' })).keys).toEqual(['chunk/7c.1', 'chunk/f0.1']);
      expect(await list({ Delimiter: '/' })).toEqual({ keys: ['top'], prefixes: ['backups/', 'chunk/'] });
      expect(await list({ Prefix: 'backups/', Delimiter: '/' })).toEqual({ keys: [], prefixes: ['backups/a/', 'backups/b/'] });

      await put('chunk/3d.1');
      await other.s3.send(new CopyObjectCommand({ Bucket: other.name, Key: 'chunk/00.1', CopySource: `${other.name}/chunk/f0.1` }));
      await other.s3.send(new DeleteObjectCommand({ Bucket: other.name, Key: 'chunk/7b.2' }));
      const listed = await other.s3.send(new ListObjectsV2Command({ Bucket: other.name, Prefix: 'chunk/' }));
      expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([
        ['chunk/00.1', 'chunk/f0.1'.length],
        ['chunk/0a.1', 'chunk/0a.1'.length],
        ['chunk/3d.1', 'chunk/3d.1'.length],
        ['chunk/7c.1', 'chunk/7c.1'.length],
        ['chunk/f0.1', 'chunk/f0.1'.length],
      ]);
    } finally {
      await other.drop();
    }
  });

  it('lists the size and ETag an object has now: overwritten by a put, a copy or a multipart upload after it was listed', async () => {
    const other = await createTestBucket('fresh');
    try {
      const md5 = (body: Buffer | string) => `"${createHash('md5').update(body).digest('hex')}"`;
      const listed = async () => {
        const page = await other.s3.send(new ListObjectsV2Command({ Bucket: other.name }));
        return Object.fromEntries((page.Contents ?? []).map((o) => [o.Key!, [o.Size, o.ETag]]));
      };
      await other.s3.send(new PutObjectCommand({ Bucket: other.name, Key: 'a', Body: 'one' }));
      await other.s3.send(new PutObjectCommand({ Bucket: other.name, Key: 'b', Body: 'longer body' }));
      expect(await listed()).toEqual({ a: [3, md5('one')], b: [11, md5('longer body')] });
      await other.s3.send(new PutObjectCommand({ Bucket: other.name, Key: 'a', Body: 'three' }));
      expect((await listed()).a).toEqual([5, md5('three')]);
      await other.s3.send(new CopyObjectCommand({ Bucket: other.name, Key: 'a', CopySource: `${other.name}/b` }));
      expect((await listed()).a).toEqual([11, md5('longer body')]);
      const big = randomBytes(6 * 1024 * 1024);
      await new Upload({ client: other.s3, params: { Bucket: other.name, Key: 'a', Body: big }, partSize: 5 * 1024 * 1024 }).done();
      expect((await listed()).a?.[0]).toBe(big.length);
      await other.s3.send(new DeleteObjectCommand({ Bucket: other.name, Key: 'a' }));
      expect(Object.keys(await listed())).toEqual(['b']);
    } finally {
      await other.drop();
    }
  });

  it('stores a streamed multipart upload byte for byte (no aws-chunked framing)', async () => {
    const data = randomBytes(12 * 1024 * 1024 + 123);
    const upload = new Upload({
      client: bucket.s3,
      params: { Bucket: bucket.name, Key: 'postgres/pachyderm.dump', Body: Readable.from([data.subarray(0, 7_000_000), data.subarray(7_000_000)]) },
      partSize: 5 * 1024 * 1024,
    });
    await upload.done();
    const got = await bucket.s3.send(new GetObjectCommand({ Bucket: bucket.name, Key: 'postgres/pachyderm.dump' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.length).toBe(data.length);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });
});
