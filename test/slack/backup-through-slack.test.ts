import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/sandbox/slack-sim/workspace.js';
import { ALICE, ANNOUNCE, BOB, createSlackFixture, DAVE, OPS, type SlackFixture, slackModes } from '../support/slack-fixture.js';

const textOf = (m: { text?: string; blocks?: unknown[] }) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

describe.each(slackModes())('a backup requested in Slack (%s)', (slackMode) => {
  let f: SlackFixture;
  let runId: string;
  let confirmation: { text: string; blocks?: unknown[] };
  let runMessage: MessageView;
  let announcement: MessageView;
  const replicasDuringPause: Record<string, number>[] = [];

  beforeAll(async () => {
    f = await createSlackFixture({ slackMode, podDelayMs: 200 });
    const before = await f.replicas();
    const { reply } = await f.command(ALICE, 'backup test --note "before the upgrade"');
    confirmation = reply;
    expect(await f.jobCount()).toBe(0); // nothing queued before the confirmation
    // Look at the cluster once the thread says it is paused.
    void f.sim
      .waitForMessage((m) => m.channel === OPS && m.thread_ts !== m.ts && /Pause Pachyderm/.test(m.text), { timeoutMs: 60_000 })
      .then(async () => replicasDuringPause.push(await f.replicas()));
    await f.sim.driver.clickButton({ userId: ALICE, message: { channel: reply.channel, ts: reply.ts }, actionId: 'backup_confirm' });
    const queued = await f.sim.waitForEphemeral((e) => e.user === ALICE && /is queued/.test(e.text));
    runId = /Backup (\S+) of/.exec(queued.text)![1]!;
    await f.finished(runId);
    runMessage = f.messagesIn(OPS).find((m) => m.text.includes(runId))!;
    announcement = f.messagesIn(ANNOUNCE)[0]!;
    expect(await f.replicas()).toEqual(before);
  });
  afterAll(async () => f?.cleanup());

  it('confirms first, privately, naming the cluster, context, namespace, what stops and the estimated downtime', () => {
    const text = textOf(confirmation);
    expect(text).toContain('`sandbox`'); // kube context
    expect(text).toContain('`pachyderm`'); // namespace
    expect(text).toMatch(/pachd/);
    expect(text).toMatch(/default-edges-v1/);
    expect(text).toMatch(/Estimated downtime/i);
    expect(text).toContain('before the upgrade');
  });

  it('keeps one ops-channel message per run, edited in place into a finished checklist', () => {
    expect(runMessage.edit_count).toBeGreaterThan(1);
    const text = textOf(runMessage);
    expect(text).toMatch(/Succeeded/);
    for (const step of ['Preflight checks', 'Pause Pachyderm', 'Dump the databases', 'Resume Pachyderm', 'Verify the backup']) expect(text).toContain(step);
    expect(text).not.toContain('run_cancel'); // no Cancel button once finished
  });

  it('replies in the thread as each step finishes, then with a summary', () => {
    const replies = runMessage.replies.map((r) => r.text);
    expect(replies.filter((r) => /Pause Pachyderm|Dump the databases|Resume Pachyderm/.test(r))).toHaveLength(3);
    const summary = replies.at(-1)!;
    expect(summary).toContain(runId);
    expect(summary).toMatch(/downtime/);
    expect(summary).toMatch(/verified/);
  });

  it('coalesces checklist edits instead of one chat.update per event', () => {
    const updates = f.sim.calls().filter((c) => c.method === 'chat.update' && (c.args as { ts?: string }).ts === runMessage.ts);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.length).toBeLessThan(22); // 11 steps × (start + finish) events
    expect(f.sim.calls().some((c) => c.status === 429)).toBe(false);
  });

  it('announces the outage to users with Slack date tokens and the estimate, then edits it with the real downtime', () => {
    expect(announcement).toBeDefined();
    expect(replicasDuringPause[0]?.pachd).toBe(0);
    const posted = f.sim.calls().find((c) => c.method === 'chat.postMessage' && (c.args as { channel?: string }).channel === ANNOUNCE)!;
    const first = textOf(posted.args as { text?: string; blocks?: unknown[] });
    expect(first).toMatch(/is paused for a backup/);
    expect(first).toMatch(/<!date\^\d+\^/);
    expect(first).toMatch(/estimated/);
    expect(announcement.edit_count).toBeGreaterThan(0);
    expect(announcement.text).toMatch(/is back \(paused [\d.]+ (ms|s), estimated/);
  });

  it('records the estimate and the actual downtime, shown by history', async () => {
    const run = await f.state.runs.getRun(runId);
    expect(run).toMatchObject({ phase: 'succeeded', requestedBy: `<@${ALICE}>`, note: 'before the upgrade' });
    expect((run!.estimate as { expectedSeconds: number }).expectedSeconds).toBeGreaterThan(0);
    expect(run!.downtimeSeconds).toBeGreaterThan(0);
    const { reply } = await f.command(DAVE, 'history test');
    expect(textOf(reply)).toContain(runId);
  });

  it('answers status, list, show and estimate to anyone', async () => {
    const status = textOf((await f.command(DAVE, 'status')).reply);
    expect(status).toMatch(/test/);
    expect(status).toContain(runId); // last good backup
    expect(textOf((await f.command(DAVE, 'list test')).reply)).toContain(runId);
    expect(textOf((await f.command(DAVE, `show ${runId}`)).reply)).toMatch(/pachd|2\.11\.6/);
    expect(textOf((await f.command(DAVE, 'estimate test')).reply)).toMatch(/Snapshot the databases/);
    expect(textOf((await f.command(DAVE, 'help')).reply)).toContain('/pachbackup backup');
  });

  it('shows each cluster in App Home', async () => {
    await f.sim.driver.openHome(BOB);
    const call = await f.sim.waitForCall((c) => c.method === 'views.publish' && (c.args as { user_id?: string }).user_id === BOB);
    const view = JSON.stringify((call.args as { view: unknown }).view);
    expect(view).toContain('test');
    expect(view).toContain(runId);
  });

  it('audits every command, confirmation and outcome with who and when', async () => {
    const entries = await f.state.audit.list({ limit: 100 });
    const actions = entries.map((e) => `${e.actor} ${e.action} ${e.outcome}`);
    expect(actions).toContain(`${ALICE} backup requested`);
    expect(actions).toContain(`${ALICE} backup-confirm accepted`);
    expect(actions).toContain('pachbackup backup succeeded');
    expect(entries.every((e) => e.at instanceof Date)).toBe(true);
  });
});
