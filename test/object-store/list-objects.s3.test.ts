import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { compareKeys } from '../../src/object-store/key-order.js';
import { isInKeyRange, splitKeySpace } from '../../src/object-store/key-ranges.js';
import { listObjects } from '../../src/object-store/list-objects.js';
import { createTestBucket } from '../support/services.js';
import { collect, putObjects, randomChunks, recordCommands } from './s3-fixtures.js';

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

describe('listObjects in key ranges', () => {
  let bucket: Awaited<ReturnType<typeof createTestBucket>>;
  const objects = randomChunks(300, 1, 50);
  beforeAll(async () => {
    bucket = await createTestBucket('ranges');
    await putObjects(bucket.s3, bucket.name, new Map([...objects].map(([k, v]) => [`p/${k}`, v])));
    await putObjects(bucket.s3, bucket.name, new Map([['p/aaa', Buffer.from('before chunk/')], ['p/test/x', Buffer.from('after chunk/')], ['q', Buffer.from('outside')]]));
  });
  afterAll(async () => bucket?.drop());

  it('lists each range from its start, across pages, and the ranges together list every key once, in order', async () => {
    const whole = (await collect(listObjects(bucket.s3, bucket.name, 'p/'))).map((o) => o.key);
    expect(whole).toHaveLength(302);
    const ranges = splitKeySpace(7, 'chunk/');
    const parts = await Promise.all(ranges.map((range) => collect(listObjects(bucket.s3, bucket.name, 'p/', { range, pageSize: 9 }))));
    expect(parts.flat().map((o) => o.key)).toEqual(whole);
    for (const [i, part] of parts.entries()) for (const o of part) expect(isInKeyRange(o.key, ranges[i]!)).toBe(true);
    expect(parts.every((p) => p.length > 0)).toBe(true);
  });

  it('sends no request past the range: a range ending early stops listing', async () => {
    const sent = recordCommands(bucket.s3);
    const first = await collect(listObjects(bucket.s3, bucket.name, 'p/', { range: { through: 'chunk/0' }, pageSize: 10 }));
    expect(first.map((o) => o.key)).toEqual(['aaa', ...[...objects.keys()].filter((k) => compareKeys(k, 'chunk/0') <= 0).sort(compareKeys)]);
    expect(sent.filter((c) => c.command === 'ListObjectsV2Command').length).toBeLessThanOrEqual(Math.ceil(first.length / 10) + 1);
  });

  it("with the keys a range is expected to hold, is not sent a page of keys past the range's end; a wrong guess still lists every key", async () => {
    const range = splitKeySpace(16, 'chunk/')[3]!;
    const inRange = [...objects.keys()].filter((k) => isInKeyRange(k, range)).sort(compareKeys);
    const sentKeys = (sent: ReturnType<typeof recordCommands>) =>
      sent.filter((c) => c.command === 'ListObjectsV2Command').reduce((n, c) => n + Number(c.output?.KeyCount ?? 0), 0);

    const sent = recordCommands(bucket.s3);
    const listed = await collect(listObjects(bucket.s3, bucket.name, 'p/', { range, expectedKeys: inRange.length }));
    expect(listed.map((o) => o.key)).toEqual(inRange);
    // Without the expectation this range is sent every key from its start to the end of the bucket (about 13 of 16 ranges' worth).
    expect(sentKeys(sent)).toBeLessThanOrEqual(Math.ceil(inRange.length * 1.1) + 16);

    for (const expectedKeys of [0, 1, inRange.length * 10]) {
      const guessed = recordCommands(bucket.s3);
      expect((await collect(listObjects(bucket.s3, bucket.name, 'p/', { range, expectedKeys, pageSize: 1000 }))).map((o) => o.key)).toEqual(inRange);
      expect(guessed.filter((c) => c.command === 'ListObjectsV2Command').length).toBeLessThanOrEqual(2);
    }
  });
});
