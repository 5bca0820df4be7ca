import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkAbort, untilAborted, whenAborted } from '../../src/object-store/abort-link.js';

describe('watching a signal', () => {
  it('calls every watcher still watching once when the signal aborts, and never one that stopped', () => {
    const controller = new AbortController();
    const called: number[] = [];
    const stops = Array.from({ length: 500 }, (_, i) => whenAborted(controller.signal, () => called.push(i)));
    for (let i = 0; i < 500; i += 2) stops[i]!();
    // Hundreds of watchers, one listener: adding a watcher does not walk the others.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    controller.abort();
    expect(called).toEqual(Array.from({ length: 250 }, (_, i) => 2 * i + 1));
  });

  it('calls a watcher of an aborted signal at once, and the same callback once per watch', () => {
    let calls = 0;
    whenAborted(AbortSignal.abort(), () => (calls += 1));
    expect(calls).toBe(1);
    const controller = new AbortController();
    const count = () => (calls += 1);
    whenAborted(controller.signal, count);
    const stop = whenAborted(controller.signal, count);
    stop();
    whenAborted(controller.signal, count);
    controller.abort();
    expect(calls).toBe(3);
  });

  it('stops waiting for work on abort, and leaves no watcher behind work that settled', async () => {
    const controller = new AbortController();
    await expect(Promise.all(Array.from({ length: 100 }, (_, i) => untilAborted(Promise.resolve(i), controller.signal)))).resolves.toHaveLength(100);
    const never = untilAborted(new Promise<never>(() => undefined), controller.signal);
    controller.abort(new Error('run cancelled'));
    await expect(never).rejects.toThrow('run cancelled');
  });

  it('follows a parent with links that share its one listener, until each is disposed', () => {
    const parent = new AbortController();
    const links = Array.from({ length: 300 }, () => linkAbort(parent.signal));
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    links[0]!.dispose();
    links[1]!.abort(new Error('a sibling failed'));
    parent.abort(new Error('run cancelled'));
    expect(links[0]!.signal.aborted).toBe(false);
    expect((links[1]!.signal.reason as Error).message).toBe('a sibling failed');
    expect(links.slice(2).every((link) => link.signal.aborted && (link.signal.reason as Error).message === 'run cancelled')).toBe(true);
    // Linked to a parent that has aborted: aborted at once.
    expect(linkAbort(parent.signal).signal.aborted).toBe(true);
  });
});
