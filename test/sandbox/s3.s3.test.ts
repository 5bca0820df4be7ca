import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
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
