import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkObjectsInRanges } from '../../src/backup/check-objects-in-ranges.js';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { verifyBackup } from '../../src/backup/verify-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import type { ClusterConfig } from '../../src/config/config.js';
import { rangesQueueName, type RangeJobData } from '../../src/fan-out/range-queue.js';
import { listObjects } from '../../src/object-store/list-objects.js';
import { poolPrefix } from '../../src/object-store/pool-keys.js';
import { createRunEvents, type RunEvent, type StepProgress } from '../../src/runner/run-event.js';
import { backupDepsFor } from '../../src/runtime/backup-deps-for.js';
import { fanOutFor } from '../../src/runtime/fan-out-for.js';
import { newOperationId } from '../../src/restore/operation-id.js';
import { restoreDepsFor } from '../../src/restore/restore-deps-for.js';
import { planRestore } from '../../src/restore/restore-plan.js';
import { runRestore } from '../../src/restore/run-restore.js';
import { listAll, removeBucket } from '../restore/restore-fixtures.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { uniqueName } from '../support/services.js';

/**
 * Large copies split into key ranges run by several worker PROCESSES (`pachbackup worker`, as deployed), the backup
 * itself running here as the CLI runs it. Small range sizes are forced through the config, so a few thousand
 * objects make about six ranges (the count is estimated from the first 500 keys, so it may be one more or less).
 */
const OBJECTS = 1200;

let f: PachydermFixture | undefined;
let workers: ChildProcess[] = [];
let queue: Queue | undefined;
let queueConnection: Redis | undefined;
let closeFanOut: (() => Promise<void>) | undefined;

beforeEach(async () => {
  f = await createPachydermFixture({
    objects: OBJECTS,
    editConfig: (config) => {
      config.clusters.test.backup.fanOut = { minObjects: 500, objectsPerRange: 200, maxRanges: 64 };
      config.clusters.test.backup.copyConcurrency = 4;
    },
  });
  queueConnection = f.state.redis.duplicate();
  queue = new Queue(rangesQueueName(f.config.redis.prefix), { connection: queueConnection });
});

afterEach(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await Promise.all(workers.map((w) => (w.exitCode === null && w.signalCode === null ? new Promise((resolve) => w.once('exit', resolve)) : undefined)));
  workers = [];
  await closeFanOut?.();
  closeFanOut = undefined;
  await queue?.close();
  queueConnection?.disconnect();
  await f?.cleanup();
  f = undefined;
});

/**
 * Starts `count` worker processes taking two ranges at a time each, and waits until all of them take range jobs.
 * Their job locks last the default unless `lockMs` is given: a short lock lets a dead worker's ranges be taken
 * over in seconds, but on a loaded machine a live worker may then miss a renewal, and its range runs twice
 * (BullMQ delivers at least once), which the tests that count copies must not see.
 */
async function startWorkers(count: number, options: { lockMs?: number } = {}): Promise<ChildProcess[]> {
  const started = Array.from({ length: count }, () =>
    spawn(process.execPath, ['bin/pachbackup.js', 'worker', '--config', f!.configFile, '--ranges', '2'], {
      stdio: 'ignore',
      env: {
        ...process.env,
        ...(options.lockMs ? { PACHBACKUP_JOB_LOCK_MS: String(options.lockMs) } : {}),
        LOG_LEVEL: 'silent',
        PACHBACKUP_METRICS_PORT: '0',
        PACHBACKUP_LISTEN_HOST: '127.0.0.1',
      },
    }),
  );
  workers.push(...started);
  const deadline = Date.now() + 60_000;
  while ((await queue!.getWorkersCount()) < count) {
    if (Date.now() > deadline) throw new Error('the worker processes did not start');
    if (started.some((w) => w.exitCode !== null)) throw new Error('a worker process exited at start');
    await sleep(200);
  }
  return started;
}

/** Runs a backup in this process with the fan-out a CLI builds, recording its pre-copy progress. */
function startBackup(options: { signal?: AbortSignal; cluster?: ClusterConfig } = {}) {
  const ranges = fanOutFor(f!.config, f!.state, quietLogger);
  closeFanOut = ranges.close;
  const id = newBackupId('test');
  const deps = backupDepsFor(options.cluster ?? f!.cluster, f!.state, { id, requestedBy: 'test' }, { fanOut: ranges.fanOut });
  const events = createRunEvents();
  const progress: StepProgress[] = [];
  const seen: RunEvent[] = [];
  events.subscribe((e) => {
    seen.push(e);
    if (e.type === 'step-progress' && e.step === 'pre-copy') progress.push(e.progress);
  });
  const result = runBackup({ deps, events, log: quietLogger, ...(options.signal ? { signal: options.signal } : {}) }).finally(() => deps.close());
  return { id, result, progress, events: seen };
}

/** A step's fan-out as the state database recorded it: how many ranges, and which process finished each, with what. */
async function recordedRanges(runId: string, step = 'pre-copy') {
  const fanOuts = await f!.state.pool.query<{ id: string; ranges: unknown[] }>(`SELECT id, ranges FROM fan_outs WHERE run_id = $1 AND step = $2`, [runId, step]);
  expect(fanOuts.rows).toHaveLength(1);
  const { rows } = await f!.state.pool.query<{ part: number; worker: string; totals: { listed: number; copied: number; skipped: number; objects: number } | null }>(
    `SELECT part, worker, totals FROM fan_out_ranges WHERE fan_out_id = $1 ORDER BY part`,
    [fanOuts.rows[0]!.id],
  );
  return { count: fanOuts.rows[0]!.ranges.length, rows };
}

async function poolKeys(): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  for await (const o of listObjects(f!.backupBucket.s3, f!.backupBucket.name, poolPrefix(f!.cluster.backupStore))) keys.set(o.key, o.size);
  return keys;
}

async function rangeJobs(runId: string, states: ('active' | 'waiting' | 'prioritized' | 'delayed' | 'waiting-children')[]) {
  return (await queue!.getJobs(states)).filter((j) => (j.data as RangeJobData | undefined)?.runId === runId);
}

const waitFor = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

// Worker processes start, and thousands of objects are seeded and copied, in each test: minutes on a busy machine.
describe('a large copy split over several worker processes', { timeout: 240_000 }, () => {
  it('copies every object exactly once, each range in some worker process, and reports one total', async () => {
    const processes = await startWorkers(3);
    const backup = startBackup();
    const result: BackupResult = await backup.result;
    expect(result.status, result.error).toBe('succeeded');

    // Every object is in the pool with its size.
    const cluster = await f!.clusterListing();
    const pool = await poolKeys();
    expect(pool.size).toBe(OBJECTS);
    for (const [key, { size }] of cluster) expect(pool.get(key), key).toBe(size);

    // About six ranges, all finished by the worker processes (none by this one), more than one process doing the work.
    const { count, rows: ranges } = await recordedRanges(backup.id);
    expect(count).toBeGreaterThanOrEqual(5);
    expect(count).toBeLessThanOrEqual(8);
    expect(ranges.map((r) => r.part)).toEqual([...Array(count).keys()]);
    const pids = new Set(processes.map((p) => `${hostname()}:${p.pid}`));
    for (const r of ranges) expect(pids.has(r.worker), r.worker).toBe(true);
    expect(new Set(ranges.map((r) => r.worker)).size).toBeGreaterThan(1);

    // Exactly once: the ranges together listed and copied each object one time, and nothing was found already there.
    expect(ranges.reduce((n, r) => n + r.totals!.listed, 0), JSON.stringify(ranges)).toBe(OBJECTS);
    expect(ranges.reduce((n, r) => n + r.totals!.copied, 0)).toBe(OBJECTS);
    expect(ranges.reduce((n, r) => n + r.totals!.skipped, 0)).toBe(0);

    // One total: the step's result and its progress are the sum over every range.
    expect(result.objects).toMatchObject({ total: OBJECTS, copied: OBJECTS, copiedWhilePaused: 0 });
    expect(backup.progress.at(-1)).toMatchObject({ objectsDone: OBJECTS });
    expect(backup.progress.at(-1)?.message).toMatch(new RegExp(`${OBJECTS} copied, 0 already stored; ${count} of ${count} key ranges done by the workers`));
    const done = backup.events.find((e) => e.type === 'step-finished' && e.step === 'pre-copy');
    expect(done).toMatchObject({ summary: expect.stringMatching(new RegExp(`^copied ${OBJECTS} of ${OBJECTS} objects .* in ${count} key ranges on [23] workers$`)) });

    // The paused part copied in the backup's own process: nothing of the pause was queued behind other work.
    const { rows: steps } = await f!.state.pool.query<{ step: string }>(`SELECT step FROM fan_outs WHERE run_id = $1 ORDER BY created_at`, [backup.id]);
    expect(steps.map((s) => s.step)).toEqual(['pre-copy', 'verify']);
    expect(backup.events.find((e) => e.type === 'step-finished' && e.step === 'delta-copy')).toMatchObject({ summary: expect.not.stringMatching(/key ranges/) });

    // The backup's verification checked the pool range by range on the workers too, every entry once.
    const verified = await recordedRanges(backup.id, 'verify');
    expect(verified.rows.reduce((n, r) => n + (r.totals as unknown as { checked: number }).checked, 0)).toBe(OBJECTS);
    expect(result.verified).toBe(true);

    // And it finds an object gone from the pool, naming it, when checked in ranges.
    const manifest = (await f!.deps('x').catalog.readManifest('test', backup.id))!;
    const [gone] = [...cluster.keys()].sort().slice(-1);
    await f!.backupBucket.s3.send(new DeleteObjectCommand({ Bucket: f!.backupBucket.name, Key: `${poolPrefix(f!.cluster.backupStore)}${gone}` }));
    const verifyId = `verify-${backup.id}`;
    await f!.state.runs.createRun({ id: verifyId, kind: 'verify', cluster: 'test', requestedBy: 'test', phase: 'running' });
    const ranges2 = fanOutFor(f!.config, f!.state, quietLogger);
    try {
      const signal = new AbortController().signal;
      const record = await verifyBackup({
        s3: f!.backupBucket.s3,
        store: f!.cluster.backupStore,
        manifest,
        signal,
        checkObjects: checkObjectsInRanges({ fanOut: ranges2.fanOut, runId: verifyId, step: 'verify', storeOf: 'test', settings: f!.cluster.backup.fanOut, signal }),
      });
      expect(record.ok).toBe(false);
      expect(record.checks.find((c) => c.name === 'objects')?.detail).toBe(`1 objects missing (first: ${gone})`);
      expect((await recordedRanges(verifyId, 'verify')).rows.every((r) => pids.has(r.worker))).toBe(true);
    } finally {
      await ranges2.close();
    }
  });

  it('keeps a copy well under backup.fanOut.minObjects (the count is estimated) in the one process that runs the backup, with workers waiting', async () => {
    await startWorkers(1);
    const cluster = { ...f!.cluster, backup: { ...f!.cluster.backup, fanOut: { ...f!.cluster.backup.fanOut, minObjects: 2 * OBJECTS } } };
    const backup = startBackup({ cluster });
    const result = await backup.result;
    expect(result.status, result.error).toBe('succeeded');
    expect(result.objects).toMatchObject({ total: OBJECTS, copied: OBJECTS });
    expect((await poolKeys()).size).toBe(OBJECTS);
    // No fan-out was recorded or queued, and the step says nothing of key ranges.
    const { rows } = await f!.state.pool.query(`SELECT step FROM fan_outs WHERE run_id = $1`, [backup.id]);
    expect(rows).toEqual([]);
    expect(await rangeJobs(backup.id, ['active', 'waiting', 'prioritized', 'delayed', 'waiting-children'])).toEqual([]);
    const done = backup.events.find((e) => e.type === 'step-finished' && e.step === 'pre-copy');
    expect(done).toMatchObject({ summary: expect.stringMatching(new RegExp(`^copied ${OBJECTS} of ${OBJECTS} objects [^;]*; 0 already in the store$`)) });
  });

  it("pauses, copies what arrived and resumes the cluster while another operation's key ranges clog the queue: none of them runs first", async () => {
    await startWorkers(1);
    const backup = startBackup();
    // Once the pre-copy's ranges are done, the queue is clogged: 50 ranges of another operation wait, and no worker
    // takes anything (the queue is paused), as when other large copies hold every worker.
    const clog = Array.from({ length: 50 }, (_, part) => ({ name: 'range', data: { fanOutId: 'other-op.pre-copy.1', runId: 'other-op', part } satisfies RangeJobData, opts: { jobId: `other-op.pre-copy.1.${part}` } }));
    let clogged: Promise<number> | undefined;
    const order: string[] = [];
    let stepsSeen = 0;
    const watch = setInterval(() => {
      const seen = backup.events.filter((e) => e.type === 'step-started' || e.type === 'step-finished').map((e) => `${e.type === 'step-started' ? 'start' : 'done'} ${e.step}`);
      if (!clogged && seen.includes('done pre-copy')) {
        clogged = (async () => {
          await queue!.pause();
          await queue!.addBulk(clog);
          order.push('clogged');
          return performance.now();
        })();
      }
      for (const s of seen.slice(stepsSeen)) {
        order.push(s);
        if (s === 'done resume') {
          void queue!.count().then((waiting) => {
            if (waiting >= clog.length) order.push('clog still waiting at resume');
          });
        }
      }
      stepsSeen = seen.length;
    }, 5);
    // The verification after the resume fans out again: the clog is cleared once the cluster is back.
    const cleared = (async () => {
      while (!order.includes('done resume')) await sleep(20);
      await sleep(200);
      await queue!.obliterate({ force: true });
      await queue!.resume();
    })();
    const result = await backup.result;
    await cleared;
    clearInterval(watch);
    expect(result.status, result.error).toBe('succeeded');
    // The clog was in place before the cluster was paused, and still all waiting when it was back.
    expect(order.indexOf('clogged'), order.join(' → ')).toBeGreaterThan(-1);
    expect(order.indexOf('clogged'), order.join(' → ')).toBeLessThan(order.indexOf('start pause'));
    expect(order, order.join(' → ')).toContain('clog still waiting at resume');
    expect(order.indexOf('done delta-copy')).toBeLessThan(order.indexOf('done resume'));
    expect(result.objects).toMatchObject({ total: OBJECTS });
    expect((await poolKeys()).size).toBe(OBJECTS);
  });

  it('loses no object when a worker process is killed mid-copy: another worker takes over its ranges', async () => {
    const [victim, survivor] = await startWorkers(2, { lockMs: 2000 });
    const victimName = `${hostname()}:${victim!.pid}`;
    const backup = startBackup();
    // Kill the victim while it holds ranges, as soon as copies have started.
    let taken: string[] = [];
    await waitFor('the victim to copy a range', async () => {
      taken = (await rangeJobs(backup.id, ['active'])).filter((j) => j.processedBy === victimName).map((j) => j.id!);
      return taken.length > 0 && backup.progress.some((p) => (p.objectsDone ?? 0) > 0);
    });
    victim!.kill('SIGKILL');

    const result = await backup.result;
    expect(result.status, result.error).toBe('succeeded');
    const pool = await poolKeys();
    for (const [key, { size }] of await f!.clusterListing()) expect(pool.get(key), key).toBe(size);
    expect(pool.size).toBe(OBJECTS);
    // The ranges the victim held when it died were finished by the survivor.
    const { count, rows: ranges } = await recordedRanges(backup.id);
    expect(ranges).toHaveLength(count);
    const byPart = new Map(ranges.map((r) => [r.part, r.worker]));
    for (const jobId of taken) expect(byPart.get(Number(jobId.split('.').at(-1)))).toBe(`${hostname()}:${survivor!.pid}`);
    // Every object counted once in the total, whether copied before the death or found in the pool after it.
    expect(ranges.reduce((n, r) => n + r.totals!.listed, 0)).toBe(OBJECTS);
    expect(result.objects.total).toBe(OBJECTS);
  });

  it('stops every range when the run is cancelled', async () => {
    await startWorkers(2);
    const cancel = new AbortController();
    const backup = startBackup({ signal: cancel.signal });
    await waitFor('copies to start', () => backup.progress.some((p) => (p.objectsDone ?? 0) > 0));
    cancel.abort();
    const result = await backup.result;
    expect(result.status).toBe('cancelled');

    // Nothing of the copy runs or waits any more, here or in Redis, and the state database says it was cancelled.
    expect(await rangeJobs(backup.id, ['active', 'waiting', 'prioritized', 'delayed', 'waiting-children'])).toEqual([]);
    const { rows } = await f!.state.pool.query<{ state: string }>(`SELECT state FROM fan_outs WHERE run_id = $1`, [backup.id]);
    expect(rows.map((r) => r.state)).toEqual(['cancelled']);
    // No worker goes on copying: once the store has finished the copies it had already begun when they were
    // aborted (aborting a request cannot undo work the store started), the pool stops growing, short of the bucket.
    let after = -1;
    await waitFor('the copies in flight to land', async () => {
      const before = after;
      after = (await poolKeys()).size;
      if (after !== before) await sleep(1000);
      return after === before;
    });
    await sleep(3000);
    expect((await poolKeys()).size).toBe(after);
    expect(after).toBeLessThan(OBJECTS);
  });

  it('restores into a new bucket with the workers copying the key ranges, every object once', async () => {
    const processes = await startWorkers(2);
    const backup = startBackup();
    expect((await backup.result).status).toBe('succeeded');
    const ranges = fanOutFor(f!.config, f!.state, quietLogger);
    const previous = closeFanOut;
    closeFanOut = async () => {
      await previous?.();
      await ranges.close();
    };
    const bucket = uniqueName('restored');
    const deps = restoreDepsFor(f!.config, f!.cluster, f!.state, { id: newOperationId('restore', 'test'), backupId: backup.id, requestedBy: 'test' }, { fanOut: ranges.fanOut });
    try {
      const plan = await planRestore({ env: deps, request: { backupId: backup.id, databases: { kind: 'new' }, objects: { kind: 'bucket', bucket } } });
      expect(plan.refusals).toEqual([]);
      const events = createRunEvents();
      const summaries: string[] = [];
      events.subscribe((e) => {
        if (e.type === 'step-finished' && e.step === 'copy-objects' && e.summary) summaries.push(e.summary);
      });
      const result = await runRestore({ deps, plan, events, log: quietLogger });
      expect(result.status, result.error).toBe('succeeded');

      const restored = await listAll(f!.clusterBucket.s3, bucket);
      const original = await f!.clusterListing();
      expect(restored.size).toBe(OBJECTS);
      for (const [key, { size }] of original) expect(restored.get(key), key).toBe(size);
      const { count, rows } = await recordedRanges(deps.restoreId, 'copy-objects');
      expect(rows).toHaveLength(count);
      const pids = new Set(processes.map((p) => `${hostname()}:${p.pid}`));
      for (const r of rows) expect(pids.has(r.worker), r.worker).toBe(true);
      expect(rows.reduce((n, r) => n + r.totals!.objects, 0)).toBe(OBJECTS);
      expect(rows.reduce((n, r) => n + r.totals!.copied, 0)).toBe(OBJECTS);
      expect(summaries[0]).toMatch(new RegExp(`^created the bucket; copied ${OBJECTS} of ${OBJECTS} objects .* in ${count} key ranges on [12] workers?$`));
    } finally {
      deps.close();
      await removeBucket(f!.clusterBucket.s3, bucket);
    }
  });
});
