import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { compareKeys } from '../../src/object-store/key-order.js';
import { listObjects } from '../../src/object-store/list-objects.js';
import { createTestBucket } from '../support/services.js';
import { collect, putObjects, randomChunks } from './s3-fixtures.js';

describe('listObjects on s3rver', () => {
  let bucket: Awaited<ReturnType<typeof createTestBucket>>;
  const objects = randomChunks(30, 1, 500);
  beforeAll(async () => {
    bucket = await createTestBucket('list');
    await putObjects(bucket.s3, bucket.name, new Map([...objects].map(([k, v]) => [`a/b/${k}`, v])));
    await putObjects(bucket.s3, bucket.name, new Map([['a/bc', Buffer.from('outside')], ['z', Buffer.from('outside')]]));
  });
  afterAll(async () => bucket?.drop());

  it('streams every object under the prefix, across pages, in key order, keys relative to the prefix', async () => {
    const listed = await collect(listObjects(bucket.s3, bucket.name, 'a/b/', { pageSize: 7 }));
    expect(listed.map((o) => o.key)).toEqual([...objects.keys()].sort(compareKeys));
    for (const o of listed) {
      expect(o.size).toBe(objects.get(o.key)!.length);
      expect(o.etag).toMatch(/^[0-9a-f]{32}$/);
      expect(o.lastModified).toBeInstanceOf(Date);
    }
  });

  it('lists the whole bucket with an empty prefix', async () => {
    expect(await collect(listObjects(bucket.s3, bucket.name, ''))).toHaveLength(32);
  });

  it('stops cleanly when the consumer stops early, and fails as cancelled when aborted', async () => {
    let n = 0;
    for await (const _ of listObjects(bucket.s3, bucket.name, 'a/b/', { pageSize: 5 })) if (++n === 6) break;
    expect(n).toBe(6);
    const controller = new AbortController();
    controller.abort();
    const err = await collect(listObjects(bucket.s3, bucket.name, 'a/b/', { signal: controller.signal })).catch((e: unknown) => e);
    expect((err as PachbackupError).code).toBe('cancelled');
  });

  it('reports a missing bucket as not-found', async () => {
    const err = await collect(listObjects(bucket.s3, `${bucket.name}-gone`, '')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PachbackupError);
    expect((err as PachbackupError).code).toBe('not-found');
  });
});
