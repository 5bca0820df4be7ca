import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ANNOUNCE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

let fixture: SlackFixture | undefined;
/** Worker processes a test started: killed whatever the test's outcome, so that none outlives it. */
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await fixture?.cleanup();
  fixture = undefined;
});

/** A worker process with short job locks, so BullMQ notices its death within seconds. */
function workerProcess(f: SlackFixture): ChildProcess {
  const child = spawn(process.execPath, ['bin/pachbackup.js', 'worker', '--config', f.configFile], {
    stdio: 'ignore',
    env: { ...process.env, PACHBACKUP_JOB_LOCK_MS: '2000', PACHBACKUP_LOCK_TTL_MS: '3000', LOG_LEVEL: 'silent', PACHBACKUP_METRICS_PORT: '0', PACHBACKUP_LISTEN_HOST: '127.0.0.1' },
  });
  children.push(child);
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('a backup whose workers keep dying', () => {
  it('is ended by the next worker with the cluster resumed, and its thread and the users hear the end', async () => {
    const f = (fixture = await createSlackFixture({ podDelayMs: 1000, worker: false, lockTtlMs: 5000 }));
    const before = await f.replicas();
    let child = workerProcess(f);
    const runId = await f.backupThroughSlack();
    await f.sim.waitForMessage((m) => m.channel === ANNOUNCE && /is paused/.test(m.text ?? ''), { timeoutMs: 30_000, description: 'the announcement' });
    await kill(child);
    // BullMQ gives a job back after a worker dies, three times (maxStalledCount); each later worker dies as soon
    // as it has taken the job again — as a worker killed for memory on every attempt would.
    for (let attempt = 2; attempt <= 4; attempt++) {
      child = workerProcess(f);
      for (let i = 0; i < 300; i++) {
        const job = await f.queue.getJob(runId);
        if ((job?.attemptsStarted ?? 0) >= attempt && (await job?.isActive())) break;
        await sleep(100);
      }
      expect((await f.queue.getJob(runId))?.attemptsStarted).toBeGreaterThanOrEqual(attempt);
      await kill(child);
    }

    // The next worker: BullMQ fails the job (stalled too often); the worker's sweep (every lock TTL) ends the run.
    const worker = await f.reportingWorker();
    try {
      const summary = await f.finished(runId, 90_000);
      expect(summary.text).not.toMatch(/complete/);
      expect(await (await f.queue.getJob(runId))?.isFailed()).toBe(true);
      const run = await f.state.runs.getRun(runId);
      expect(run?.phase).toBe('failed');
      expect(await f.replicas()).toEqual(before);
      const { backups } = await f.deps('x').catalog.list('test');
      expect(backups.map((b) => b.manifest.id)).not.toContain(runId);
      const thread = f.messagesIn(OPS).find((m) => m.text.includes(runId))!.replies.map((r) => r.text);
      expect(thread.some((t) => /interrupted/.test(t))).toBe(true);
      // Users were told once that it is paused, and that one announcement now says it is back.
      const announcements = f.messagesIn(ANNOUNCE);
      expect(announcements).toHaveLength(1);
      expect(announcements[0]!.text).toMatch(/is back/);
    } finally {
      await worker.stop();
    }
  }, 180_000);
});
