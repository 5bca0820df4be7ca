import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { listObjects } from '../../src/object-store/list-objects.js';
import { sendListObjectsV2 } from '../../src/object-store/listing-page.js';
import { createTestBucket } from '../support/services.js';
import { collect, putObjects } from './s3-fixtures.js';

/** Keys whose XML needs escaping or is otherwise easy to get wrong. */
const AWKWARD = ['a&b', 'less<than', 'greater>than', 'quote"d', "apos'd", 'semi;colon&amp;', 'tab\there', 'space d', 'ümlaut/日本', 'plus+sign', 'percent%20', '#hash', 'Contents', '<Contents>x</Contents>'];

describe("a listing page's objects, read without the SDK's deserializer", () => {
  let bucket: Awaited<ReturnType<typeof createTestBucket>>;
  beforeAll(async () => {
    bucket = await createTestBucket('page');
    await putObjects(bucket.s3, bucket.name, new Map(AWKWARD.map((k, i) => [`p/${k}`, Buffer.alloc(i * 3 + 1, i)])));
  });
  afterAll(async () => bucket?.drop());

  it('gives every key, size, ETag and time exactly as the SDK reads them, whatever the key holds', async () => {
    for (const pageSize of [1000, 4]) {
      let token: string | undefined;
      do {
        const input = { Bucket: bucket.name, Prefix: 'p/', MaxKeys: pageSize, ContinuationToken: token };
        const sdk = await bucket.s3.send(new ListObjectsV2Command(input));
        const page = await sendListObjectsV2(bucket.s3, input, {});
        expect(page.objects).toEqual((sdk.Contents ?? []).map((o) => ({ key: o.Key, size: o.Size, etag: o.ETag, lastModified: o.LastModified })));
        expect(page.output.IsTruncated).toBe(sdk.IsTruncated);
        expect(page.output.NextContinuationToken === undefined).toBe(sdk.NextContinuationToken === undefined); // s3rver makes a new token each time
        token = sdk.NextContinuationToken;
      } while (token);
    }
    const listed = await collect(listObjects(bucket.s3, bucket.name, 'p/', { pageSize: 5 }));
    expect(listed.map((o) => o.key).sort()).toEqual([...AWKWARD].sort());
    for (const o of listed) expect(o.size).toBe(AWKWARD.indexOf(o.key) * 3 + 1);
  });

  it('leaves errors to the SDK: a missing bucket is still not-found, an empty listing still empty', async () => {
    const err = await collect(listObjects(bucket.s3, `${bucket.name}-gone`, '')).catch((e: unknown) => e);
    expect((err as PachbackupError).code).toBe('not-found');
    expect(await collect(listObjects(bucket.s3, bucket.name, 'nothing-here/'))).toEqual([]);
  });
});
