import { afterEach, describe, expect, it } from 'vitest';
import { killStartedClis } from '../support/cli-process.js';
import { killEveryAttempt, killWorker, startDyingWorker } from '../support/dying-workers.js';
import { ANNOUNCE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

let fixture: SlackFixture | undefined;
afterEach(async () => {
  killStartedClis(); // worker processes: none outlives its test, whatever its outcome
  await fixture?.cleanup();
  fixture = undefined;
});

describe('a backup whose workers keep dying', () => {
  it('is ended by the next worker with the cluster resumed, and its thread and the users hear the end', async () => {
    const f = (fixture = await createSlackFixture({ podDelayMs: 1000, worker: false, lockTtlMs: 5000 }));
    const before = await f.replicas();
    const first = startDyingWorker(f.configFile);
    const runId = await f.backupThroughSlack();
    await f.sim.waitForMessage((m) => m.channel === ANNOUNCE && /is paused/.test(m.text ?? ''), { timeoutMs: 30_000, description: 'the announcement' });
    await killWorker(first);
    await killEveryAttempt(f.queue, f.configFile, runId);

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
