import { afterEach, describe, expect, it } from 'vitest';
import type { DowntimeEstimate } from '../../src/estimate/downtime-estimate.js';
import { ANNOUNCE, createSlackFixture, type SlackFixture } from '../support/slack-fixture.js';
import { stepReached, threadOf } from '../support/run-progress.js';
import { killStartedClis, startCli, type CliProcess } from '../support/cli-process.js';

let fixture: SlackFixture | undefined;
afterEach(async () => {
  killStartedClis();
  await fixture?.cleanup();
  fixture = undefined;
});

// Short enough for a test, long enough that a loaded machine's event-loop lag does not lose the lease.
const WORKER_ENV = { PACHBACKUP_JOB_LOCK_MS: '5000', PACHBACKUP_LOCK_TTL_MS: '10000' };

/** An estimate that says each downtime step takes `seconds` (the run decides from it whether to finish). */
function estimateOf(seconds: number): DowntimeEstimate {
  const steps = ['pause', 'delta-copy', 'snapshot', 'resume'];
  return { expectedSeconds: seconds * steps.length, lowSeconds: seconds, highSeconds: seconds * steps.length, basis: 'history', runs: 3, perStep: steps.map((step) => ({ step, title: step, expectedSeconds: seconds })) };
}

/** Queues a backup through Slack with no worker running, sets the estimate it runs with, then starts a worker process. */
async function backupOnWorker(f: SlackFixture, estimate: DowntimeEstimate): Promise<{ runId: string; worker: CliProcess }> {
  const runId = await f.backupThroughSlack();
  await f.state.runs.setRunFields(runId, { estimate });
  const worker = startCli(['worker', '--config', f.configFile], WORKER_ENV);
  return { runId, worker };
}

async function terminate(worker: CliProcess): Promise<number> {
  const sent = Date.now();
  worker.child.kill('SIGTERM');
  const exit = await worker.exited;
  expect(exit, worker.lines.slice(-8).join('\n')).toMatchObject({ code: 0, signal: null });
  return exit.at - sent;
}

describe('SIGTERM to a worker running a backup', () => {
  it('before the pause: ingestion is resumed, the job goes back to the queue, and the next worker runs the backup to the end', async () => {
    const f = (fixture = await createSlackFixture({ worker: false, objects: 40 }));
    const before = await f.replicas();
    const { runId, worker } = await backupOnWorker(f, estimateOf(1));
    await stepReached(f, runId, 'suspend-ingress');
    const took = await terminate(worker);
    expect(took).toBeLessThan(10_000);

    expect((await f.state.runs.getRun(runId))?.phase).toBe('queued');
    expect(await (await f.queue.getJob(runId))?.getState()).toBe('waiting');
    expect(await f.replicas()).toEqual(before);
    expect(await f.cronJobSuspended('ingest-uploads')).toBe(false);
    await f.sim.waitForMessage((m) => m.thread_ts !== undefined && /Handed back to the queue/.test(m.text), { description: 'the hand-back note' });

    startCli(['worker', '--config', f.configFile], WORKER_ENV);
    const summary = await f.finished(runId, 90_000);
    expect(summary.text).toMatch(/complete/);
    expect((await f.state.runs.getRun(runId))?.phase).toBe('succeeded');
    expect(await f.replicas()).toEqual(before);
    expect(threadOf(f, runId).some((t) => /Handed back/.test(t))).toBe(true);
  }, 180_000);

  it('while paused, when the rest of the pause fits in the grace period: finishes the backup, then exits', async () => {
    const f = (fixture = await createSlackFixture({ worker: false, objects: 20, podDelayMs: 1500 }));
    const before = await f.replicas();
    const { runId, worker } = await backupOnWorker(f, estimateOf(1));
    await stepReached(f, runId, 'pause'); // pods take 1.5 s to stop and to start: paused for 3 s or more
    const took = await terminate(worker);
    expect(took).toBeLessThan(25_000);
    expect((await f.state.runs.getRun(runId))?.phase).toBe('succeeded');
    expect(await f.replicas()).toEqual(before);
    expect(f.messagesIn(ANNOUNCE)[0]?.text).toMatch(/is back/);
  }, 180_000);

  it('while paused, when the rest would not fit: resumes the cluster, ends the run cancelled with the reason, and tells users', async () => {
    const f = (fixture = await createSlackFixture({ worker: false, objects: 20, podDelayMs: 1500 }));
    const before = await f.replicas();
    const { runId, worker } = await backupOnWorker(f, estimateOf(600));
    await stepReached(f, runId, 'pause'); // pods take 1.5 s to stop and to start: paused for 3 s or more
    const took = await terminate(worker);
    expect(took).toBeLessThan(25_000);
    const run = await f.state.runs.getRun(runId);
    expect(run?.phase).toBe('cancelled');
    expect(run?.error).toMatch(/^worker shutting down \(SIGTERM\): stopped during "(Pause Pachyderm|Copy new objects|Snapshot the databases|Resume Pachyderm)" and resumed the cluster/);
    expect(await f.replicas()).toEqual(before);
    expect(f.messagesIn(ANNOUNCE)[0]?.text).toMatch(/back/);
    const { backups } = await f.deps('x').catalog.list('test');
    expect(backups).toEqual([]);
  }, 180_000);
});
