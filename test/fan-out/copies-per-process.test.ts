import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rangesQueueName } from '../../src/fan-out/range-queue.js';
import { CHUNK_FOLDER, splitKeySpace } from '../../src/object-store/key-ranges.js';
import { fanOutFor } from '../../src/runtime/fan-out-for.js';
import { startS3FaultProxy, type S3FaultProxy } from '../../src/sandbox/s3-fault-proxy.js';
import { listAll } from '../object-store/s3-fixtures.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { services } from '../support/services.js';

/**
 * One process's copies in flight, counted at the store: the cluster's objects are reached through the sandbox's
 * S3 proxy, which sees every CopyObject arrive and end, and holds each request a little so copies overlap. A large
 * copy split into four key ranges that one process runs side by side must keep at most the cluster's
 * `backup.copyConcurrency` copies at the store at once — four ranges must not mean four times as many.
 */
const OBJECTS = 240;
const COPY_CONCURRENCY = 3;
const RANGES = 4;

let proxy: S3FaultProxy | undefined;
let f: PachydermFixture | undefined;
let worker: ChildProcess | undefined;
let queue: Queue | undefined;
let queueConnection: Redis | undefined;

beforeEach(async () => {
  proxy = await startS3FaultProxy({ upstream: services().s3Endpoint });
  f = await createPachydermFixture({
    objects: OBJECTS,
    s3Endpoint: proxy.endpoint,
    editConfig: (config) => {
      config.clusters.test.backup.copyConcurrency = COPY_CONCURRENCY;
    },
  });
  queueConnection = f.state.redis.duplicate();
  queue = new Queue(rangesQueueName(f.config.redis.prefix), { connection: queueConnection });
  // Every request waits 25 ms at the proxy: a copy lasts long enough for the ranges' copies to meet there.
  proxy.faults.latencyMs = 25;
});

afterEach(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
  }
  worker = undefined;
  await queue?.close();
  queueConnection?.disconnect();
  await f?.cleanup();
  f = undefined;
  await proxy?.close();
  proxy = undefined;
});

/** Copies the cluster's bucket into its pool in four key ranges through the fan-out a CLI builds; the copy's totals and where it ran. */
async function copyInRanges(options: { local: boolean }) {
  const runId = `cap-${options.local ? 'local' : 'workers'}`;
  await f!.state.runs.createRun({ id: runId, kind: 'backup', cluster: 'test', requestedBy: 'test', phase: 'running' });
  // Held as a running CLI holds its run's lease: a worker ends runs that no live process holds.
  expect(await f!.state.runs.claimLease(runId, `test:${process.pid}`, 600_000)).toBe(true);
  const ranges = fanOutFor(f!.config, f!.state, quietLogger, { rangesAtOnce: RANGES });
  try {
    return await ranges.fanOut.run({
      runId,
      step: 'pre-copy',
      work: { kind: 'pool-sync', cluster: 'test' },
      ranges: splitKeySpace(RANGES, CHUNK_FOLDER),
      signal: new AbortController().signal,
      local: options.local,
    });
  } finally {
    await ranges.close();
  }
}

async function poolSize(): Promise<number> {
  return (await listAll(f!.backupBucket.s3, f!.backupBucket.name)).size;
}

describe('copies in flight in one process', { timeout: 120_000 }, () => {
  it('stay within backup.copyConcurrency with four key ranges side by side in the process that asked (the pause, a CLI without workers)', async () => {
    const result = await copyInRanges({ local: true });
    expect(result.where).toBe('this process');
    // Every range had objects to copy: their copies could have met at the store.
    expect(result.perRange.every((r) => r.copied > 0)).toBe(true);
    expect(result.totals.copied).toBe(OBJECTS);
    expect(await poolSize()).toBe(OBJECTS);
    // The cap was reached (the ranges did overlap) and never passed.
    expect(proxy!.peakCopies()).toBe(COPY_CONCURRENCY);
  });

  it('reach backup.copyConcurrency when it is above what a client used to keep open (64 connections)', async () => {
    // 240 objects, every request held 250 ms at the proxy: a cap of 100 is reached if nothing else caps it. (At the
    // suite's 25 ms, a loaded machine could not send 100 requests before the first ones ended: 83 once in CI.)
    f!.config.clusters.test!.backup.copyConcurrency = 100;
    proxy!.faults.latencyMs = 250;
    const result = await copyInRanges({ local: true });
    expect(result.totals.copied).toBe(OBJECTS);
    expect(proxy!.peakCopies()).toBe(100);
  });

  it('stay within backup.copyConcurrency in a worker process taking four range jobs at once (`worker --ranges 4`)', async () => {
    worker = spawn(process.execPath, ['bin/pachbackup.js', 'worker', '--config', f!.configFile, '--ranges', String(RANGES)], {
      stdio: 'ignore',
      env: { ...process.env, LOG_LEVEL: 'silent', PACHBACKUP_METRICS_PORT: '0', PACHBACKUP_LISTEN_HOST: '127.0.0.1' },
    });
    const deadline = Date.now() + 60_000;
    while ((await queue!.getWorkersCount()) < 1) {
      if (Date.now() > deadline) throw new Error('the worker process did not start');
      if (worker.exitCode !== null) throw new Error('the worker process exited at start');
      await sleep(200);
    }
    const result = await copyInRanges({ local: false });
    expect(result.where).toBe('workers');
    expect(result.workers).toBe(1);
    expect(result.perRange.every((r) => r.copied > 0)).toBe(true);
    expect(result.totals.copied).toBe(OBJECTS);
    expect(await poolSize()).toBe(OBJECTS);
    expect(proxy!.peakCopies()).toBe(COPY_CONCURRENCY);
  });
});
