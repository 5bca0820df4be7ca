import { describe, expect, it } from 'vitest';
import { createConcurrencyLimit } from '../../src/object-store/concurrency-limit.js';

/** A function that runs until `finish()` is called, recording that it started. */
function held(started: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { fn: async () => void (started.push(name), await done), finish: () => finish() };
}

describe('a concurrency limit', () => {
  it('runs at most max at once, the others in the order they came as places free up', async () => {
    const limit = createConcurrencyLimit(2);
    const started: string[] = [];
    const [a, b, c, d] = [held(started, 'a'), held(started, 'b'), held(started, 'c'), held(started, 'd')];
    const runs = [a, b, c, d].map((h) => limit.run(h.fn));
    await Promise.resolve();
    expect(started).toEqual(['a', 'b']);
    expect(limit.active).toBe(2);
    b.finish();
    await runs[1];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a', 'b', 'c']);
    a.finish();
    c.finish();
    d.finish();
    await Promise.all(runs);
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(limit.active).toBe(0);
  });

  it('gives a place back when its function throws', async () => {
    const limit = createConcurrencyLimit(1);
    await expect(limit.run(async () => Promise.reject(new Error('copy failed')))).rejects.toThrow('copy failed');
    expect(limit.active).toBe(0);
    expect(await limit.run(async () => 'next')).toBe('next');
  });

  it('never starts a function whose signal aborts while it waits, and passes the place on to the next', async () => {
    const limit = createConcurrencyLimit(1);
    const started: string[] = [];
    const first = held(started, 'first');
    const running = limit.run(first.fn);
    const cancel = new AbortController();
    const cancelled = limit.run(held(started, 'cancelled').fn, cancel.signal);
    const next = held(started, 'next');
    const after = limit.run(next.fn);
    cancel.abort(new Error('run cancelled'));
    await expect(cancelled).rejects.toThrow('run cancelled');
    first.finish();
    await running;
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['first', 'next']);
    next.finish();
    await after;
    expect(limit.active).toBe(0);
    // Already aborted: refused at once, without taking a place.
    await expect(limit.run(async () => 'never', AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(limit.active).toBe(0);
  });
});
