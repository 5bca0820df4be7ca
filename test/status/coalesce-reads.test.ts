import { describe, expect, it } from 'vitest';
import { coalesceReads } from '../../src/status/coalesce-reads.js';

/** A read that counts its calls and resolves (or rejects) when told. */
function controlledRead() {
  const calls: string[] = [];
  const pending: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  const read = (key: string) =>
    new Promise<string>((resolve, reject) => {
      calls.push(key);
      pending.push({ resolve, reject });
    });
  return { calls, pending, read };
}

describe('coalesced reads', () => {
  it('shares one read among everyone asking for the same key while it is in flight', async () => {
    const { calls, pending, read } = controlledRead();
    const coalesced = coalesceReads(read, { key: (k) => k, reuseMs: 0 });
    const answers = Promise.all(Array.from({ length: 50 }, () => coalesced('prod')));
    const other = coalesced('staging');
    expect(calls).toEqual(['prod', 'staging']);
    pending[0]!.resolve('prod now');
    pending[1]!.resolve('staging now');
    expect(new Set(await answers)).toEqual(new Set(['prod now']));
    expect(await other).toBe('staging now');
  });

  it('reuses a settled answer for reuseMs, then reads again', async () => {
    let clock = 0;
    const { calls, pending, read } = controlledRead();
    const coalesced = coalesceReads(read, { key: (k) => k, reuseMs: 3000, now: () => clock });
    const first = coalesced('prod');
    pending[0]!.resolve('first');
    await first;
    clock = 2999;
    expect(await coalesced('prod')).toBe('first');
    clock = 3000;
    const second = coalesced('prod');
    expect(calls).toHaveLength(2);
    pending[1]!.resolve('second');
    expect(await second).toBe('second');
  });

  it('never reuses a failure: the next caller reads again', async () => {
    const { calls, pending, read } = controlledRead();
    const coalesced = coalesceReads(read, { key: (k) => k, reuseMs: 60_000 });
    const [a, b] = [coalesced('prod'), coalesced('prod')];
    pending[0]!.reject(new Error('unreachable'));
    await expect(a).rejects.toThrow('unreachable');
    await expect(b).rejects.toThrow('unreachable');
    const again = coalesced('prod');
    expect(calls).toHaveLength(2);
    pending[1]!.resolve('back');
    expect(await again).toBe('back');
  });
});
