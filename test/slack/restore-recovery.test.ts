import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebClient } from '@slack/web-api';
import { afterAll, describe, expect, it } from 'vitest';
import { startReportingWorker } from '../../src/cli/start-reporting-worker.js';
import { isFinal } from '../../src/runner/run-phase.js';
import { SANDBOX_BOT_TOKEN } from '../../src/sandbox/slack-sim/seed.js';
import { quietLogger } from '../support/pachyderm-fixture.js';
import { ALICE, ANNOUNCE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

const CAROL = 'U0APR1';

let fixture: SlackFixture | undefined;
afterAll(async () => {
  await fixture?.cleanup();
});

/** Opens the restore modal as `user` and waits until it lists the backups (it may open with a loading view first). */
async function openRestoreModal(f: SlackFixture, user: string): Promise<string> {
  await f.sim.driver.slashCommand({ userId: user, channelId: OPS, text: 'restore test' });
  for (let i = 0; i < 300; i++) {
    const modal = f.sim.workspace.modalStack(user).at(-1);
    if (modal && JSON.stringify(modal.blocks ?? []).includes('"block_id":"backup"')) return modal.id;
    await sleep(100);
  }
  throw new Error('the restore modal never listed the backups');
}

describe('a restore whose worker dies', () => {
  it('is picked up by another worker while the cluster is paused, takes the lock over and finishes, announced once', { timeout: 180_000 }, async () => {
    const f = (fixture = await createSlackFixture({ podDelayMs: 2000, objects: 10, worker: false }));
    const child = spawn(process.execPath, ['bin/pachbackup.js', 'worker', '--config', f.configFile], {
      stdio: 'ignore',
      env: { ...process.env, PACHBACKUP_JOB_LOCK_MS: '2000', PACHBACKUP_LOCK_TTL_MS: '3000', LOG_LEVEL: 'silent', PACHBACKUP_METRICS_PORT: '0', PACHBACKUP_LISTEN_HOST: '127.0.0.1' },
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let worker: Awaited<ReturnType<typeof startReportingWorker>> | undefined;
    try {
      const before = await f.replicas();
      const backupId = await f.backupThroughSlack();
      await f.finished(backupId, 90_000);

      // An in-place restore, approved by a second person.
      const viewId = await openRestoreModal(f, ALICE);
      await f.sim.driver.submitView({
        userId: ALICE,
        viewId,
        values: { backup: { backup: backupId }, target: { target: 'test' }, databases: { databases: 'original' }, objects: { objects: 'cluster-bucket' }, overwrite: { overwrite: ['overwrite'] }, confirm: { confirm: 'test' } },
      });
      const plan = await f.sim.waitForMessage((m) => m.channel === OPS && /Restore request \S+:/.test(m.text), { timeoutMs: 60_000, description: 'the restore plan' });
      const runId = /Restore request (\S+):/.exec(plan.text)![1]!;
      await f.sim.driver.clickButton({ userId: CAROL, message: { channel: OPS, ts: plan.ts }, actionId: 'restore_approve' });

      // The worker dies right after the pause: the cluster is left paused, the run unfinished.
      await f.sim.waitForMessage((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && /Pause Pachyderm/.test(m.text) && f.messagesIn(OPS).some((p) => p.ts === m.thread_ts && p.text.includes(runId)), {
        timeoutMs: 60_000,
        description: 'the restore pausing the cluster',
      });
      child.kill('SIGKILL');
      await exited;
      expect(isFinal((await f.state.runs.getRun(runId))!.phase)).toBe(false);
      expect((await f.replicas()).pachd).toBe(0);

      worker = await startReportingWorker({ config: f.config, state: f.state, log: quietLogger, slack: new WebClient(SANDBOX_BOT_TOKEN, { slackApiUrl: f.sim.apiUrl }), lockDurationMs: 2000 });
      const summary = await f.sim.waitForMessage((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && m.text.includes(`Restore ${runId} of`), { timeoutMs: 90_000, description: 'the restore summary' });
      expect(summary.text).toMatch(/is complete/);
      expect((await f.state.runs.getRun(runId))?.phase).toBe('succeeded');
      expect(await f.replicas()).toEqual(before);
      // One run message and one announcement, edited by both workers: nothing posted twice.
      expect(f.messagesIn(OPS).filter((m) => m.text.includes(runId) && !/Restore request/.test(m.text))).toHaveLength(1);
      const restoreAnnouncements = f.messagesIn(ANNOUNCE).filter((m) => /restor/.test(m.text));
      expect(restoreAnnouncements).toHaveLength(1);
      expect(restoreAnnouncements[0]!.text).toMatch(/is back, restored to its state of/);
    } finally {
      child.kill('SIGKILL');
      await worker?.stop();
    }
  });
});
