import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFanOutStore } from '../../src/fan-out/fan-out-store.js';
import { createInProcessFanOut } from '../../src/fan-out/fan-out.js';
import { createQueuedFanOut } from '../../src/fan-out/queued-fan-out.js';
import type { RangeTotalsOf } from '../../src/fan-out/range-work.js';
import type { RangeRunner } from '../../src/fan-out/run-range.js';
import { startRangeWorker } from '../../src/fan-out/start-range-worker.js';
import { splitKeySpace } from '../../src/object-store/key-ranges.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';

/**
 * The side of a fan-out that asks and waits (a backup's step, in a worker or the CLI), with one range worker in
 * this process whose ranges run only when the test lets them: what the asking process does while it waits.
 */
let f: PachydermFixture | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  f = await createPachydermFixture({ objects: 0 });
});

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
  await f?.cleanup();
  f = undefined;
});

describe('a fan-out waiting for its ranges', { timeout: 60_000 }, () => {
  it('waits any number of polls without piling listeners on the run signal: no MaxListenersExceededWarning on the CLI', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.push(async () => void process.off('warning', onWarning));

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const done: RangeTotalsOf['pool-verify'] = { checked: 1, missingCount: 0, wrongSizeCount: 0, missing: [], wrongSize: [] };
    const runRange = (async () => {
      started += 1;
      await released;
      return done;
    }) as unknown as RangeRunner;
    const { redis, pool } = f!.state;
    const prefix = f!.config.redis.prefix;
    const rangeWorker = await startRangeWorker({ prefix, redis, pool, runRange, log: quietLogger, concurrency: 2 });
    cleanups.push(() => rangeWorker.stop());
    const fanOut = createQueuedFanOut({ redis, prefix, fanOuts: createFanOutStore(pool), fallback: createInProcessFanOut({ runRange }), log: quietLogger, pollMs: 5 });
    cleanups.push(() => fanOut.close());
    // First of the cleanups (they run last to first): a failed test leaves no range blocked for the worker to wait on.
    cleanups.push(async () => release());

    const runId = 'listeners-1';
    await f!.state.runs.createRun({ id: runId, kind: 'backup', cluster: 'test', requestedBy: 'test', phase: 'running' });
    const controller = new AbortController();
    const result = fanOut.run({
      runId,
      step: 'verify',
      work: { kind: 'pool-verify', backup: { cluster: 'test', role: 'backup' }, inventory: { key: 'inventory.ndjson.gz' } },
      ranges: splitKeySpace(2),
      signal: controller.signal,
    });
    const deadline = Date.now() + 30_000;
    while (started < 2 && Date.now() < deadline) await sleep(20);
    expect(started).toBe(2);
    // Both ranges run; the asking side polls every 5 ms meanwhile: about a hundred polls.
    await sleep(500);
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);

    release();
    const finished = await result;
    expect(finished.totals.checked).toBe(2);
    expect(finished.where).toBe('workers');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
  });
});
