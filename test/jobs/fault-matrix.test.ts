import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { FINAL_PHASES, type RunPhase } from '../../src/runner/run-phase.js';
import { startFaultServices, type FaultServices } from '../support/fault-services.js';
import { killStartedClis, startCli, type CliProcess } from '../support/cli-process.js';
import { stepReached, threadOf } from '../support/run-progress.js';
import { ANNOUNCE, createSlackFixture, type SlackFixture } from '../support/slack-fixture.js';

/**
 * The fault matrix (issue 11): a backup through Slack, a fault injected when a step starts — one representative
 * step per phase: `pre-copy` before the pause, `pause` while paused (pods take 1.5 s to stop and to start, so the
 * cluster stays paused for seconds), `dump-databases` after the resume — and what a person would check after it:
 * the cluster at its recorded replicas with ingestion running, no backup listed that did not succeed, the run
 * ended succeeded or failed/cancelled with a reason in words, the users' announcement ended, the next backup
 * succeeding. Faults come from the sandbox's controls only: processes killed by PID, Redis and the S3 server
 * stopped and started by PID, the S3 fault proxy, the Kubernetes simulator's fault endpoint over HTTP.
 *
 * It takes minutes: set PACHBACKUP_SKIP_FAULT_MATRIX=1 to leave it out locally (CI runs it). The matrix is
 * printed at the end (step × fault → outcome).
 */
const SKIP = process.env.PACHBACKUP_SKIP_FAULT_MATRIX === '1';

type Row = 'before the pause (pre-copy)' | 'paused (pause)' | 'after the resume (dump-databases)';
const ROWS: { row: Row; step: string }[] = [
  { row: 'before the pause (pre-copy)', step: 'pre-copy' },
  { row: 'paused (pause)', step: 'pause' },
  { row: 'after the resume (dump-databases)', step: 'dump-databases' },
];

const WORKER_ENV = { PACHBACKUP_JOB_LOCK_MS: '5000', PACHBACKUP_LOCK_TTL_MS: '10000' };
const GRACE_MS = 25_000;

/** What one column of the matrix needs around its cells. */
interface Cluster {
  f: SlackFixture;
  s?: FaultServices;
  /** The worker process, for the columns that signal it. */
  worker?: CliProcess;
}

interface Column {
  name: string;
  /** A Redis and S3 server of the column's own (it stops them). */
  services?: boolean;
  /** The worker runs as a `pachbackup worker` process (the column signals it), not in the test's process. */
  workerProcess?: boolean;
  rows?: Row[];
  pauseTimeoutSeconds?: number;
  resumeTimeoutSeconds?: number;
  /** Injects the fault when the row's step has started; resolves once the fault is over (or left to the run). */
  inject(c: Cluster, runId: string, row: Row): Promise<string | void>;
  /** Undoes what an operator would fix before the next backup (a finalizer removed). */
  heal?(c: Cluster): Promise<void>;
  /** Extra checks of the cell's thread and run. */
  check?(c: Cluster, runId: string, run: { phase: RunPhase; error?: string | null }): Promise<void> | void;
}

const kubeFaults = (c: Cluster, body: unknown) => fetch(`${c.f.kube.url}/sandbox/faults`, { method: 'PUT', body: JSON.stringify(body) }).then((r) => r.json());

const COLUMNS: Column[] = [
  {
    name: 'SIGKILL of the worker',
    workerProcess: true,
    async inject(c, _runId, row) {
      // Known gap: a worker killed in the ~100 ms between posting the users' announcement and recording it in its
      // job leaves that announcement saying "paused" (the next attempt posts and ends a second one). Killed while
      // paused here means once the announcement is out.
      if (row === 'paused (pause)') await c.f.sim.waitForMessage((m) => m.channel === ANNOUNCE && /is paused/.test(m.text ?? ''), { timeoutMs: 30_000, description: 'the announcement' }).then(() => sleep(500));
      c.worker!.kill();
      await c.worker!.exited;
      c.worker = startCli(['worker', '--config', c.f.configFile], WORKER_ENV); // Kubernetes starts another pod
      return 'killed';
    },
  },
  {
    name: 'SIGTERM of the worker',
    workerProcess: true,
    async inject(c) {
      const sent = Date.now();
      c.worker!.child.kill('SIGTERM');
      const exit = await c.worker!.exited;
      const took = exit.at - sent;
      expect(exit, c.worker!.lines.slice(-8).join('\n')).toMatchObject({ code: 0, signal: null });
      expect(took).toBeLessThan(GRACE_MS);
      c.worker = startCli(['worker', '--config', c.f.configFile], WORKER_ENV);
      return `exit 0 in ${(took / 1000).toFixed(1)} s`;
    },
  },
  {
    name: 'Redis restarted empty',
    services: true,
    async inject(c) {
      await c.s!.restartRedisEmpty();
    },
  },
  {
    name: 'object store stopped 4 s',
    services: true,
    async inject(c) {
      await c.s!.stopS3();
      await sleep(4000);
      await c.s!.startS3();
    },
  },
  {
    name: 'object store 503 SlowDown 4 s',
    services: true,
    async inject(c) {
      c.s!.proxy.faults.slowDownUntil = Date.now() + 4000;
      await sleep(4000);
      return `${c.s!.proxy.slowDowns()} SlowDowns`;
    },
  },
  {
    name: 'Kubernetes 429 then 500 burst 4 s',
    async inject(c) {
      const now = Date.now();
      await kubeFaults(c, { failures: [{ code: 429, retryAfterSeconds: 1, until: now + 2000 }, { code: 500, until: now + 4000 }] });
      await sleep(4000);
    },
  },
  {
    name: 'Kubernetes watch dropped',
    async inject(c) {
      // Every watch ends 300 ms after it starts, and the open ones end now, until the run is over.
      await kubeFaults(c, { dropWatchesAfterMs: 300 });
      await fetch(`${c.f.kube.url}/sandbox/faults/drop-watches`, { method: 'POST' });
    },
    async heal(c) {
      await kubeFaults(c, { dropWatchesAfterMs: 0 });
    },
  },
  {
    name: 'pod stuck Terminating',
    rows: ['paused (pause)'],
    pauseTimeoutSeconds: 5,
    async inject(c) {
      await kubeFaults(c, { stuckTerminating: ['pachd'] });
    },
    async heal(c) {
      await kubeFaults(c, { stuckTerminating: [] }); // the operator removes the finalizer
    },
    check(c, runId, run) {
      expect(run.phase).toBe('failed');
      // Exactly what is wrong: which pod, that it is stuck terminating, and what holds it.
      expect(run.error).toMatch(/pachd-\S+ stuck Terminating .*finalizer kube-sim\.sandbox\/stuck-terminating/);
      expect(threadOf(c.f, runId).join('\n')).toMatch(/pachd-\S+ stuck Terminating/);
    },
  },
  {
    name: 'pachd not ready in the resume timeout',
    rows: ['paused (pause)'],
    resumeTimeoutSeconds: 5,
    async inject(c, runId) {
      await kubeFaults(c, { neverReady: ['pachd'] });
      // The resume keeps trying, and says so in the thread, until pachd is ready; then the run finishes.
      await c.f.sim.waitForMessage((m) => m.thread_ts !== undefined && /pachd.*not ready/.test(m.text ?? '') && threadOf(c.f, runId).some((t) => /not ready/.test(t)), {
        timeoutMs: 60_000,
        description: 'the thread saying pachd is not ready',
      });
      expect((await c.f.state.runs.getRun(runId))?.phase).toBe('running');
      await kubeFaults(c, { neverReady: [] }); // whatever kept pachd from starting is fixed
      return 'told, kept retrying';
    },
    check(c, runId) {
      expect(threadOf(c.f, runId).join('\n')).toMatch(/Deployment pachd not ready after 5 s/);
    },
  },
];

const matrix = new Map<string, Map<Row, string>>();

/** Columns run three at a time: each has a cluster, a Slack app and a worker of its own, on two cores. */
let running = 0;
const waiting: (() => void)[] = [];
async function oneOfThree<T>(work: () => Promise<T>): Promise<T> {
  while (running >= 3) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

/** Waits until the run has ended (a handed-back run carries on in the next worker first). */
async function runEnded(f: SlackFixture, runId: string, timeoutMs = 180_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const run = await f.state.runs.getRun(runId);
    if (run && FINAL_PHASES.includes(run.phase)) return run;
    await sleep(100);
  }
  throw new Error(`run ${runId} did not end within ${timeoutMs} ms: ${JSON.stringify(await f.state.runs.getRun(runId))}`);
}

/** Backs up through Slack and waits for the thread's summary; returns the run. */
async function backupToTheEnd(f: SlackFixture) {
  const runId = await f.backupThroughSlack();
  const run = await runEnded(f, runId);
  await f.finished(runId, 60_000);
  return run;
}

const announcementsOf = (f: SlackFixture) => f.messagesIn(ANNOUNCE);

async function runCell(c: Cluster, column: Column, row: { row: Row; step: string }): Promise<string> {
  const { f } = c;
  const before = await f.replicas();
  const announced = announcementsOf(f).length;
  const runId = await f.backupThroughSlack();
  await stepReached(f, runId, row.step, 120_000);
  const injected = await column.inject(c, runId, row.row);
  const run = await runEnded(f, runId);
  await f.finished(runId, 60_000);
  await column.heal?.(c);

  // A reason in words: no stack, no "[object", no bare error code.
  if (run.phase !== 'succeeded') {
    expect(run.phase).toMatch(/^(failed|cancelled)$/);
    expect(run.error ?? '').toMatch(/^[A-Za-z"].{15,}/);
    expect(run.error).not.toMatch(/\n\s+at |\[object|undefined/);
  }
  // The cluster as it was, ingestion running.
  expect(await f.replicas()).toEqual(before);
  expect(await f.cronJobSuspended('ingest-uploads')).toBe(false);
  // Only succeeded runs are listed (from the store's manifests alone).
  const { backups } = await f.deps('x').catalog.list('test');
  for (const b of backups) expect((await f.state.runs.getRun(b.manifest.id))?.phase, `listed ${b.manifest.id}`).toMatch(/^(succeeded|partially-failed)$/);
  if (run.phase !== 'succeeded') expect(backups.map((b) => b.manifest.id)).not.toContain(runId);
  // The users were told the end of the story, if they were told it started.
  let posted = announcementsOf(f).slice(announced);
  for (let i = 0; i < 150 && posted.some((a) => !/is back/.test(a.text)); i++) {
    await sleep(100); // the edit may follow the summary
    posted = announcementsOf(f).slice(announced);
  }
  for (const a of posted) expect(a.text, `announcement of ${runId}`).toMatch(/is back/);
  await column.check?.(c, runId, run);

  let next = '';
  if (run.phase !== 'succeeded') {
    const again = await backupToTheEnd(f);
    expect(again.phase, again.error ?? '').toBe('succeeded');
    next = '; next backup succeeded';
  }
  const reason = run.error ? `: ${run.error.length > 90 ? `${run.error.slice(0, 87)}...` : run.error}` : '';
  return `${injected ? `${injected} → ` : ''}${run.phase}${reason}${posted.length ? ' (users told: back)' : ''}${next}`;
}

describe.skipIf(SKIP)('fault matrix: step × fault → the cluster resumed, nothing half-written listed, the next backup succeeds', () => {
  afterAll(() => {
    const rows = ROWS.map((r) => r.row);
    const lines = ['', 'FAULT MATRIX (step × fault → outcome)'];
    for (const [column, cells] of matrix) {
      lines.push(`- ${column}`);
      for (const row of rows) if (cells.has(row)) lines.push(`    ${row}: ${cells.get(row)}`);
    }
    console.log(lines.join('\n'));
    killStartedClis();
  });

  it.concurrent.each(COLUMNS.map((c) => [c.name, c] as const))('%s', (_name, column) => oneOfThree(() => runColumn(column)), 900_000);
});

async function runColumn(column: Column): Promise<void> {
  {
    const s = column.services ? await startFaultServices() : undefined;
    const f = await createSlackFixture({
      // The faults are the backend's; Slack's two transports have their own suites.
      slackMode: 'http',
      worker: !column.workerProcess,
      workerLockDurationMs: 4000,
      lockTtlMs: 6000,
      objects: 30,
      podDelayMs: 1500,
      ...(s ? { redisUrl: s.redisUrl, s3Endpoint: s.s3Endpoint } : {}),
      ...(column.pauseTimeoutSeconds ? { pauseTimeoutSeconds: column.pauseTimeoutSeconds } : {}),
      ...(column.resumeTimeoutSeconds ? { resumeTimeoutSeconds: column.resumeTimeoutSeconds } : {}),
    });
    const c: Cluster = { f, ...(s ? { s } : {}) };
    if (column.workerProcess) c.worker = startCli(['worker', '--config', f.configFile], WORKER_ENV);
    const cells = new Map<Row, string>();
    matrix.set(column.name, cells);
    try {
      for (const row of ROWS.filter((r) => !column.rows || column.rows.includes(r.row))) {
        try {
          cells.set(row.row, await runCell(c, column, row));
        } catch (err) {
          cells.set(row.row, `FAILED: ${(err as Error).message.split('\n')[0]}`);
          throw err;
        }
      }
      // After the column's faults, a clean backup.
      const last = await backupToTheEnd(f);
      expect(last.phase, last.error ?? '').toBe('succeeded');
    } finally {
      c.worker?.kill();
      await f.cleanup();
      await s?.close();
    }
  }
}
