import { describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { compareKeys } from '../../src/object-store/key-order.js';
import { mergeByKey } from '../../src/object-store/merge-by-key.js';
import { collect } from './s3-fixtures.js';

async function* entries<T>(items: T[], onClose?: () => void): AsyncGenerator<T> {
  try {
    for (const item of items) yield item;
  } finally {
    onClose?.();
  }
}

const keyed = (...keys: string[]) => keys.map((key, i) => ({ key, n: i }));

describe('compareKeys', () => {
  it('orders keys by UTF-8 bytes, as S3 lists them, where JavaScript string order differs', () => {
    // U+FFFF is EF BF BF in UTF-8 and U+10000 is F0 90 80 80: UTF-8 puts U+FFFF first, UTF-16 (`<`) the other way round.
    expect('\u{10000}' < '\uFFFF').toBe(true);
    expect(compareKeys('\uFFFF', '\u{10000}')).toBeLessThan(0);
    const keys = ['chunk/b', 'chunk/a.1', 'chunk/a', 'test/x', '\uFFFF', '\u{1F600}', '\uE000z', 'é', 'chunk/a/'];
    const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
  });
});

describe('mergeByKey', () => {
  it('pairs every left entry with the right entry of the same key and passes over right-only keys', async () => {
    const merged = await collect(mergeByKey(entries(keyed('a', 'c', 'd', 'f')), entries(keyed('b', 'c', 'e', 'f', 'g'))));
    expect(merged.map((m) => [m.left.key, m.right?.key])).toEqual([
      ['a', undefined],
      ['c', 'c'],
      ['d', undefined],
      ['f', 'f'],
    ]);
  });

  it('yields every left entry when the right side is empty, and nothing when the left side is', async () => {
    expect((await collect(mergeByKey(entries(keyed('a', 'b')), entries([])))).map((m) => m.right)).toEqual([undefined, undefined]);
    expect(await collect(mergeByKey(entries([]), entries(keyed('a'))))).toEqual([]);
  });

  it('fails with an integrity error naming the side when the left listing is out of order', async () => {
    const err = await collect(mergeByKey(entries(keyed('a', 'c', 'b')), entries(keyed('a', 'b', 'c')), { left: 'cluster listing', right: 'pool' })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PachbackupError);
    expect((err as PachbackupError).code).toBe('integrity');
    expect((err as PachbackupError).message).toContain('cluster listing');
  });

  it('fails when the right listing is out of order rather than report present keys as missing', async () => {
    const err = await collect(mergeByKey(entries(keyed('a', 'b', 'c', 'd')), entries(keyed('a', 'c', 'b', 'd')), { left: 'cluster listing', right: 'pool' })).catch(
      (e: unknown) => e,
    );
    expect((err as PachbackupError).code).toBe('integrity');
    expect((err as PachbackupError).message).toContain('pool');
  });

  it('fails on a repeated key', async () => {
    const err = await collect(mergeByKey(entries(keyed('a', 'a')), entries([]))).catch((e: unknown) => e);
    expect((err as PachbackupError).code).toBe('integrity');
  });

  it('closes both listings when the consumer stops early', async () => {
    const closed: string[] = [];
    for await (const m of mergeByKey(entries(keyed('a', 'b', 'c'), () => closed.push('left')), entries(keyed('a', 'b'), () => closed.push('right')))) {
      if (m.left.key === 'a') break;
    }
    expect(closed.sort()).toEqual(['left', 'right']);
  });
});
