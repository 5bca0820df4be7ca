import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { startReportingWorker } from '../../src/cli/start-reporting-worker.js';
import { SANDBOX_BOT_TOKEN } from '../../src/sandbox/slack-sim/seed.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { quietLogger } from '../support/pachyderm-fixture.js';
import { uniqueName } from '../support/services.js';
import { ALICE, BOB, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

const CAROL = 'U0APR1';
const textOf = (m: { text?: string; blocks?: unknown[] }) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

/**
 * Rights are checked again when it matters: at approval (the requester must still operate the cluster) and when a
 * job starts (requester and approvers must still hold their rights). Bob operates and approves through the
 * platform group only, and leaves it; the worker is started only when the test says so.
 */
describe('rights re-checked at approval and when a job starts', () => {
  let f: SlackFixture;
  let backupId: string;

  beforeAll(async () => {
    f = await createSlackFixture({
      objects: 5,
      worker: false,
      editConfig: (config) => void (config.clusters.test.access.approvers = { users: [CAROL], groups: ['S0PLATFORM'] }),
    });
    const backup = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(backup.status, backup.error).toBe('succeeded');
    backupId = backup.id;
  }, 180_000);
  afterAll(async () => {
    await f?.cleanup();
  });

  /** Runs a worker (with or without a Slack client) until `done` holds, then stops it. */
  async function withWorker(slack: boolean, done: () => Promise<boolean>) {
    const worker = await startReportingWorker({ config: f.config, state: f.state, log: quietLogger, ...(slack ? { slack: new WebClient(SANDBOX_BOT_TOKEN, { slackApiUrl: f.sim.apiUrl }) } : {}) });
    try {
      await expect.poll(done, { timeout: 60_000, interval: 250 }).toBe(true);
    } finally {
      await worker.stop();
    }
  }
  const refusalOf = async (runId: string) => (await f.state.audit.list({ limit: 1000 })).find((a) => a.runId === runId && a.actor === 'pachbackup' && a.outcome === 'refused');

  /** Asks (as `user`) for a restore into new databases and a new bucket; resolves with the plan message and request id. */
  function requestRestore(user: string) {
    return f.requestRestore(user, {
      backup: { backup: backupId },
      target: { target: 'test' },
      databases: { databases: 'new' },
      suffix: { suffix: uniqueName('s').replace(/-/g, '_') },
      objects: { objects: 'bucket' },
      bucket: { bucket: uniqueName('rechecked') },
      confirm: { confirm: 'test' },
    });
  }

  async function approve(user: string, message: { ts: string }) {
    const seen = new Set(f.sim.snapshot().ephemerals.map((e) => e.id));
    await f.sim.driver.clickButton({ userId: user, message: { channel: OPS, ts: message.ts }, actionId: 'restore_approve' });
    return f.sim.waitForEphemeral((e) => e.user === user && !seen.has(e.id), { timeoutMs: 60_000, description: `the answer to ${user}'s approval` });
  }

  it('refuses, failing closed, a job whose requester is in a group the worker cannot look up', async () => {
    const runId = await f.backupThroughSlack(BOB);
    // A worker without a Slack client cannot read the platform group: it refuses rather than guess.
    await withWorker(false, async () => (await refusalOf(runId)) !== undefined);
    expect(String((await refusalOf(runId))?.detail?.reason)).toMatch(/could not confirm that its requester <@U0OPS2> still operates test: cannot check who is in Slack user group S0PLATFORM: this process has no Slack client/);
    expect(await f.state.runs.getRun(runId)).toMatchObject({ phase: 'failed-validation' });
    expect((await f.deps('x').catalog.list('test')).backups.map((b) => b.manifest.id)).toEqual([backupId]);
  });

  it('refuses at approval a restore whose requester left, and at job start what its people no longer have the right to run', async () => {
    const replicas = await f.replicas();
    // Queued while bob still operates and approves through the platform group.
    const backupRun = await f.backupThroughSlack(BOB);
    const { reply } = await f.command(BOB, 'drill test');
    const drillRun = /Drill (\S+) of test is queued/.exec(reply.text ?? '')![1]!;
    const approvedByBob = await requestRestore(ALICE);
    await f.sim.driver.clickButton({ userId: BOB, message: { channel: OPS, ts: approvedByBob.message.ts }, actionId: 'restore_approve' });
    await expect.poll(async () => (await f.state.pool.query('SELECT status FROM restore_requests WHERE id = $1', [approvedByBob.requestId])).rows[0].status).toBe('approved');
    const askedByBob = await requestRestore(BOB);

    // Bob leaves the platform group.
    const platform = f.sim.workspace.usergroup('S0PLATFORM')!;
    platform.users = platform.users.filter((u) => u !== BOB);

    // At approval: bob's own request can no longer go on, and says so on its plan.
    // (Slack text escapes the mention: people see "<@U0OPS2>".)
    expect((await approve(CAROL, askedByBob.message)).text).toMatch(/can no longer be approved: the requester &lt;@U0OPS2&gt; is not an operator of test/);
    await f.sim.waitForMessage((m) => m.ts === askedByBob.message.ts && /Refused/.test(textOf(m)), { timeoutMs: 30_000, description: 'the refused plan' });
    expect((await f.state.pool.query('SELECT status FROM restore_requests WHERE id = $1', [askedByBob.requestId])).rows[0].status).toBe('rejected');

    // At job start: the backup, the drill and the restore bob approved are refused, each saying why in its thread.
    await withWorker(true, async () => (await Promise.all([backupRun, drillRun, approvedByBob.requestId].map(refusalOf))).every((r) => r !== undefined));
    expect(String((await refusalOf(backupRun))?.detail?.reason)).toMatch(/its requester <@U0OPS2> is no longer an operator of test/);
    expect(String((await refusalOf(drillRun))?.detail?.reason)).toMatch(/its requester <@U0OPS2> is no longer an operator of test/);
    expect(String((await refusalOf(approvedByBob.requestId))?.detail?.reason)).toMatch(/needs 1 more from test's approvers \(<@U0OPS2> no longer approves restores there\)/);
    const threadSays = (ts: string, what: RegExp) =>
      f.sim.waitForMessage((m) => m.thread_ts === ts && m.ts !== ts && what.test(m.text), { timeoutMs: 30_000, description: `the refusal in thread ${ts}` });
    const runMessageOf = (id: string) => f.messagesIn(OPS).find((m) => m.text.includes(id) && !/Restore request/.test(m.text))!;
    await threadSays(runMessageOf(backupRun).ts, /🚫 Backup `[^`]+` was not run: its requester &lt;@U0OPS2&gt; is no longer an operator of test/);
    await threadSays(runMessageOf(drillRun).ts, /🚫 Drill `[^`]+` was not run/);
    await threadSays(approvedByBob.message.ts, /🚫 Restore `[^`]+` was not run: it is not approved/);

    // Nothing was touched: no new backup, no restore run, the cluster as it was.
    expect((await f.deps('x').catalog.list('test')).backups.map((b) => b.manifest.id)).toEqual([backupId]);
    expect(await f.state.runs.getRun(approvedByBob.requestId)).toBeUndefined();
    expect(await f.state.runs.getRun(backupRun)).toMatchObject({ phase: 'failed-validation' });
    expect(await f.state.runs.getRun(drillRun)).toMatchObject({ phase: 'failed-validation' });
    expect(await f.replicas()).toEqual(replicas);
  }, 240_000);
});
