import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, ANNOUNCE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

let fixture: SlackFixture | undefined;
/** A worker process a test started: killed whatever the test's outcome, so that none outlives it. */
let child: ChildProcess | undefined;
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await fixture?.cleanup();
  fixture = undefined;
});

const pausedInThread = (f: SlackFixture, runId: string) =>
  f.sim.waitForMessage((m) => m.channel === OPS && m.thread_ts !== m.ts && /Pause Pachyderm/.test(m.text) && f.messagesIn(OPS).some((p) => p.ts === m.thread_ts && p.text.includes(runId)), {
    timeoutMs: 30_000,
    description: 'the pause finishing',
  });

describe('cancelling and recovering runs', () => {
  it('cancels a backup while the cluster is paused: the cluster is resumed and the thread says so', async () => {
    const f = (fixture = await createSlackFixture({ podDelayMs: 800 }));
    const before = await f.replicas();
    const runId = await f.backupThroughSlack();
    await pausedInThread(f, runId);
    expect((await f.replicas()).pachd).toBe(0);

    const { reply } = await f.command(ALICE, `cancel ${runId}`);
    expect(reply.text).toMatch(/Cancelling/);
    const summary = await f.finished(runId);
    expect(summary.text).toMatch(/cancel/i);
    expect((await f.state.runs.getRun(runId))?.phase).toBe('cancelled');
    expect(await f.replicas()).toEqual(before);
    const thread = f.messagesIn(OPS).find((m) => m.text.includes(runId))!.replies.map((r) => r.text);
    expect(thread.some((t) => /Undid|undone|resumed/i.test(t))).toBe(true);
    const announcement = f.messagesIn(ANNOUNCE)[0]!;
    expect(announcement.text).toMatch(/back/);
  });

  it('picks up the job of a worker that died while the cluster was paused and finishes the backup', async () => {
    const f = (fixture = await createSlackFixture({ podDelayMs: 1000, worker: false }));
    const before = await f.replicas();
    child = spawn(process.execPath, ['bin/pachbackup.js', 'worker', '--config', f.configFile], {
      stdio: 'ignore',
      env: { ...process.env, PACHBACKUP_JOB_LOCK_MS: '2000', PACHBACKUP_LOCK_TTL_MS: '3000', LOG_LEVEL: 'silent', PACHBACKUP_METRICS_PORT: '0', PACHBACKUP_LISTEN_HOST: '127.0.0.1' },
    });
    const runId = await f.backupThroughSlack();
    await pausedInThread(f, runId);
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect((await f.replicas()).pachd).toBe(0); // the dead worker left it paused

    const worker = await f.reportingWorker();
    try {
      const summary = await f.finished(runId, 90_000);
      expect(summary.text).toMatch(/complete/);
      expect((await f.state.runs.getRun(runId))?.phase).toBe('succeeded');
      expect(await f.replicas()).toEqual(before);
      const { backups } = await f.deps('x').catalog.list('test');
      expect(backups.map((b) => b.manifest.id)).toEqual([runId]);
      // Users get the all-clear on the one announcement the dead worker posted, with the whole pause in it.
      const announcements = f.messagesIn(ANNOUNCE);
      expect(announcements).toHaveLength(1);
      expect(announcements[0]!.text).toMatch(/^✅ Pachyderm \*test\* is back \(paused \d/);
    } finally {
      await worker.stop();
    }
  });
});
