import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillLockName } from '../../src/drill/drill-steps.js';
import { isUsageError, parseCommand } from '../../src/slack/parse-command.js';
import { ALICE, createSlackFixture, DAVE, OPS, type SlackFixture } from '../support/slack-fixture.js';

const textOf = (m: { text?: string; blocks?: unknown[] }) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

describe('parsing /pachbackup drill', () => {
  const clusters = ['prod', 'staging'];
  it('takes a cluster and an optional backup id', () => {
    expect(parseCommand('drill prod', clusters)).toEqual({ name: 'drill', cluster: 'prod' });
    expect(parseCommand('drill prod prod-20261124t031500z-7f3a', clusters)).toEqual({ name: 'drill', cluster: 'prod', backupId: 'prod-20261124t031500z-7f3a' });
  });
  it.each([
    ['drill', /`drill` needs a cluster: one of prod, staging/],
    ['drill nosuch', /unknown cluster `nosuch`/],
    ['drill prod a b', /`drill` takes a cluster and at most one backup id, got 3 arguments/],
    ['drill prod NOT_AN_ID', /`NOT_AN_ID` is not a backup id/],
    ['drill prod --now', /`drill` takes no option `--now`/],
  ])('refuses %s', (text, error) => {
    const parsed = parseCommand(text, clusters);
    expect(isUsageError(parsed)).toBe(true);
    expect(isUsageError(parsed) && parsed.error).toMatch(error);
    expect(isUsageError(parsed) && parsed.usage).toBe('/pachbackup drill <cluster> [backup-id]');
  });
});

describe('a drill requested in Slack', () => {
  let f: SlackFixture;
  let backupId: string;

  beforeAll(async () => {
    f = await createSlackFixture();
    backupId = await f.backupThroughSlack();
    await f.finished(backupId);
  });
  afterAll(async () => f?.cleanup());

  async function drill(text: string) {
    const { reply } = await f.command(ALICE, text);
    const drillId = /Drill (\S+) of/.exec(reply.text ?? '')?.[1];
    expect(drillId, reply.text).toBeDefined();
    const summary = await f.sim.waitForMessage((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && (m.text ?? '').includes(`Drill ${drillId!} of`), {
      timeoutMs: 90_000,
      description: `the summary of ${drillId!}`,
    });
    const message = f.messagesIn(OPS).find((m) => m.ts === summary.thread_ts)!;
    return { drillId: drillId!, summary, message };
  }

  it('drills the newest backup, needs no approval, and reports each check and the verdict in a thread', async () => {
    const { drillId, summary, message } = await drill('drill test');
    expect(summary.text).toMatch(/passed/);
    expect(textOf(message)).toMatch(/passed/);
    const replies = message.replies.map((r) => r.text);
    expect(replies.some((r) => /restore /.test(r) && /^ok: /.test(r))).toBe(true);
    expect(replies.some((r) => /scratch removed/.test(r))).toBe(true);
    expect(replies.some((r) => /FAILED/.test(r))).toBe(false);
    const run = await f.state.runs.getRun(drillId);
    expect(run).toMatchObject({ kind: 'drill', phase: 'succeeded', requestedBy: `<@${ALICE}>` });
    const audit = (await f.state.audit.list({ limit: 200 })).map((e) => `${e.actor} ${e.action} ${e.outcome}`);
    expect(audit).toContain(`${ALICE} drill requested`);
    expect(audit).toContain('pachbackup drill succeeded');
  });

  it('fails loudly when the backup does not exist', async () => {
    const { summary, message } = await drill('drill test test-20200101t000000z-0000');
    expect(summary.text).toMatch(/FAILED/);
    expect(textOf(message)).toMatch(/FAILED/);
  });

  it('refuses a second drill of the cluster while one runs, naming it, and queues nothing', async () => {
    const running = await f.state.locks.acquire(drillLockName('test'), { runId: 'test-20261203t000000z-drill-bbbbbb', kind: 'drill', requestedBy: '<@U0OPS2>' });
    try {
      const before = (await f.queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).filter((j) => j?.name === 'drill').length;
      const { reply } = await f.command(ALICE, 'drill test');
      expect(reply.text).toMatch(/a drill of test is already running: drill test-20261203t000000z-drill-bbbbbb requested by/);
      const after = (await f.queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).filter((j) => j?.name === 'drill').length;
      expect(after).toBe(before);
    } finally {
      await running.release();
    }
  });

  it('refuses non-operators and queues nothing', async () => {
    const before = (await f.queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).filter((j) => j?.name === 'drill').length;
    const { reply } = await f.command(DAVE, 'drill test');
    expect(reply.text).toMatch(/not an operator of test/);
    const after = (await f.queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).filter((j) => j?.name === 'drill').length;
    expect(after).toBe(before);
  });
});
