import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { startReportingWorker } from '../../src/cli/start-reporting-worker.js';
import { SANDBOX_BOT_TOKEN } from '../../src/sandbox/slack-sim/seed.js';
import { startFaultServices, type FaultServices } from '../support/fault-services.js';
import { quietLogger } from '../support/pachyderm-fixture.js';
import { runCli } from '../support/run-cli.js';
import { ANNOUNCE, createSlackFixture, type SlackFixture } from '../support/slack-fixture.js';
import { stepReached, threadOf } from '../support/run-progress.js';

let services: FaultServices | undefined;
let fixture: SlackFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  await services?.close();
  fixture = undefined;
  services = undefined;
});

/** A Slack fixture on a Redis and an object store of its own, with a 3 s cluster lock. */
async function setUp(options: { worker: boolean; podDelayMs?: number }) {
  services = await startFaultServices();
  fixture = await createSlackFixture({ worker: options.worker, workerLockDurationMs: 2000, lockTtlMs: 3000, objects: 40, podDelayMs: options.podDelayMs ?? 200, redisUrl: services.redisUrl, s3Endpoint: services.s3Endpoint });
  return { s: services, f: fixture };
}

describe('Redis restarting without its data', () => {
  it('before the pause: the worker notices its lock is gone, undoes what it did and hands the run back; the state database queues it again and it finishes', async () => {
    const { s, f } = await setUp({ worker: true });
    const before = await f.replicas();
    s.proxy.faults.latencyMs = 40; // the copy takes long enough to be caught in the middle
    const runId = await f.backupThroughSlack();
    await stepReached(f, runId, 'pre-copy');
    // Slow enough that the copy is still going when the worker notices (within about a second), however fast it ran.
    s.proxy.faults.latencyMs = 1000;
    await s.restartRedisEmpty();
    await f.sim.waitForMessage((m) => m.thread_ts !== undefined && /Handed back to the queue/.test(m.text ?? ''), { timeoutMs: 60_000, description: 'the run handed back' });
    s.proxy.faults.latencyMs = 0;

    const summary = await f.finished(runId, 90_000);
    expect(summary.text).toMatch(/complete/);
    expect((await f.state.runs.getRun(runId))?.phase).toBe('succeeded');
    expect(threadOf(f, runId).some((t) => /Handed back to the queue — lost its cluster lock/.test(t))).toBe(true);
    expect(await f.replicas()).toEqual(before);
    expect(await f.cronJobSuspended('ingest-uploads')).toBe(false);
    const { backups } = await f.deps('x').catalog.list('test');
    expect(backups.map((b) => b.manifest.id)).toEqual([runId]);
  }, 180_000);

  it('while paused: the worker resumes the cluster at once and ends the run failed saying why; users are told it is back; the next backup succeeds', async () => {
    // Pods take 2 s to stop and to start: the cluster is paused for 4 s or more, longer than noticing takes (≤ 1 s).
    const { s, f } = await setUp({ worker: true, podDelayMs: 2000 });
    const before = await f.replicas();
    const runId = await f.backupThroughSlack();
    await stepReached(f, runId, 'pause');
    await s.restartRedisEmpty();

    const summary = await f.finished(runId, 90_000);
    const run = await f.state.runs.getRun(runId);
    expect(run?.phase).toBe('failed');
    expect(run?.error).toMatch(/^lost its cluster lock \(Redis restarted without its data.*\): stopped during "(Pause Pachyderm|Copy new objects|Snapshot the databases|Resume Pachyderm)" and resumed the cluster$/);
    expect(summary.text).toMatch(/failed/);
    expect(await f.replicas()).toEqual(before);
    expect(f.messagesIn(ANNOUNCE)[0]?.text).toMatch(/back/);
    const { backups } = await f.deps('x').catalog.list('test');
    expect(backups).toEqual([]);

    const next = await f.backupThroughSlack();
    const nextSummary = await f.finished(next, 90_000);
    expect(nextSummary.text, `${(await f.state.runs.getRun(next))?.error}`).toMatch(/complete/);
  }, 180_000);

  it('with no worker running: a queued run whose job vanished is queued again by `pachbackup recover` and by the next worker, which runs it', async () => {
    const { s, f } = await setUp({ worker: false });
    const runId = await f.backupThroughSlack();
    await s.restartRedisEmpty();
    expect(await f.queue.getJob(runId)).toBeUndefined();

    const recovered = await runCli(['recover', '--config', f.configFile]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stderr).toContain(`queued run ${runId} again: its job was gone from Redis`);
    expect(await f.queue.getJob(runId)).toBeDefined();

    await s.restartRedisEmpty(); // gone again: now the worker's start finds it
    const worker = await startReportingWorker({ config: f.config, state: f.state, log: quietLogger, slack: new WebClient(SANDBOX_BOT_TOKEN, { slackApiUrl: f.sim.apiUrl }), lockDurationMs: 2000 });
    try {
      expect((await f.finished(runId, 90_000)).text).toMatch(/complete/);
      expect((await f.state.runs.getRun(runId))?.phase).toBe('succeeded');
    } finally {
      await worker.stop();
    }
  }, 180_000);
});
