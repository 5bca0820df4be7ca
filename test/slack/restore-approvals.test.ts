import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { quietLogger } from '../support/pachyderm-fixture.js';
import { uniqueName } from '../support/services.js';
import { ALICE, BOB, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

/** Two approvers of the test cluster: carol (the fixture's) and bob (an operator made approver here). */
const CAROL = 'U0APR1';
const textOf = (m: { text?: string; blocks?: unknown[] }) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

describe('restores that need two approvals', () => {
  let f: SlackFixture;
  let backupId: string;

  beforeAll(async () => {
    // No worker: an approved restore stays queued, which is what these tests look at. A second cluster whose
    // backup store does not exist shows how the modal reports a cluster it cannot list.
    f = await createSlackFixture({
      objects: 5,
      worker: false,
      editConfig: (config) => {
        const test = config.clusters.test;
        test.access.approvers.users.push(BOB);
        test.restore = { requiredApprovals: 2, requestExpiryMinutes: 5 };
        config.clusters.elsewhere = { ...test, backupStore: { bucket: uniqueName('missing'), prefix: 'pachbackup' }, restore: { requiredApprovals: 1 } };
      },
    });
    const run = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(run.status).toBe('succeeded');
    backupId = run.id;
  });
  afterAll(async () => {
    await f?.cleanup();
  });


  const openModal = (user: string, text = 'restore test') => f.openRestoreModal(user, text);

  /** Asks (as alice) for a restore into new databases and a new bucket; resolves with the plan message and request id. */
  function request() {
    return f.requestRestore(ALICE, {
      backup: { backup: backupId },
      target: { target: 'test' },
      databases: { databases: 'new' },
      suffix: { suffix: uniqueName('s').replace(/-/g, '_') },
      objects: { objects: 'bucket' },
      bucket: { bucket: uniqueName('restored') },
      confirm: { confirm: 'test' },
    });
  }

  /** Clicks Approve as `user` and resolves with the private answer. */
  async function approve(user: string, message: { ts: string }) {
    const seen = new Set(f.sim.snapshot().ephemerals.map((e) => e.id));
    await f.sim.driver.clickButton({ userId: user, message: { channel: OPS, ts: message.ts }, actionId: 'restore_approve' });
    return f.sim.waitForEphemeral((e) => e.user === user && !seen.has(e.id), { timeoutMs: 60_000, description: `the answer to ${user}'s approval` });
  }

  const current = (ts: string) => f.messagesIn(OPS).find((m) => m.ts === ts)!;
  const stored = async (id: string) => (await f.state.pool.query('SELECT status, approvals FROM restore_requests WHERE id = $1', [id])).rows[0] as { status: string; approvals: { user: string; decision: string }[] };
  const restoreJobs = async (id: string) => (await f.queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'])).filter((j) => j?.name === 'restore' && j.data.runId === id);
  const audit = async (id: string) => (await f.state.audit.list({ limit: 500 })).filter((a) => a.runId === id).map((a) => `${a.actor} ${a.action} ${a.outcome}`);
  const approvedOnScreen = (ts: string) => f.sim.waitForMessage((m) => m.ts === ts && / — approved$/.test(m.text), { timeoutMs: 60_000, description: 'the approved plan' });

  it('opens the modal with the backups loading, then shows them, and names a cluster it could not list', async () => {
    const { loading, full } = await openModal(ALICE, 'restore');
    expect(loading).toMatch(/Loading the backups of `test`, `elsewhere`…|Loading the backups of `elsewhere`, `test`…/);
    expect(loading).not.toContain(backupId);
    expect(full).toContain(backupId);
    expect(full).not.toContain('Loading the backups');
    expect(full).toMatch(/Could not list the backups of `elsewhere`, so none of them is offered: .+/);
    expect(full).not.toMatch(/Could not list the backups of `test`/);
  });

  it('keeps the request waiting after the first approval: the plan names the approver, keeps its buttons and nothing is queued', async () => {
    const { message, requestId } = await request();
    expect(textOf(message)).toContain('needs 2 approvals from approvers other than the requester');

    const answer = await approve(CAROL, message);
    expect(answer.text).toMatch(/Your approval of restore \S+ is recorded; it needs 1 more approval/);
    const plan = textOf(current(message.ts));
    expect(plan).toMatch(/Approved by\* <@U0APR1> \(<!date\^\d+\^[^>]+>\) · \*1 more approval needed\*/);
    expect(plan).toContain('restore_approve');
    expect(plan).toContain('restore_reject');
    expect(await stored(requestId)).toMatchObject({ status: 'pending', approvals: [{ user: CAROL, decision: 'approve' }] });
    expect(await restoreJobs(requestId)).toHaveLength(0);
    expect(await audit(requestId)).toContain(`${CAROL} restore-approve approval-recorded`);

    // Approving twice does not count twice: carol is told, privately, that it still needs someone else.
    const again = await approve(CAROL, message);
    expect(again.text).toMatch(/you already approved this restore; it needs 1 more approval from other approvers/);
    expect((await stored(requestId)).approvals).toHaveLength(1);
    expect(await restoreJobs(requestId)).toHaveLength(0);
  });

  it('queues the restore once a second approver approves, and the plan shows both', async () => {
    const { message, requestId } = await request();
    await approve(CAROL, message);
    await f.sim.driver.clickButton({ userId: BOB, message: { channel: OPS, ts: message.ts }, actionId: 'restore_approve' });
    const approved = textOf(await approvedOnScreen(message.ts));
    expect(approved).toMatch(/✅ \*Approved\* by <@U0APR1>, <@U0OPS2> at <!date\^\d+\^/);
    expect(approved).not.toContain('restore_approve');
    // It names the run, whose own message follows it: nothing here goes stale once the restore ends.
    expect(approved).toContain(`started as run \`${requestId}\``);

    const jobs = await restoreJobs(requestId);
    expect(jobs.map((j) => j.id)).toEqual([requestId]);
    // The job names the request and nothing else: the worker reads who approved from the state database.
    expect(jobs[0]!.data).toEqual({ kind: 'restore', runId: requestId, requestId });
    // Approved, waiting for a worker to claim it (there is none here).
    expect(await stored(requestId)).toMatchObject({ status: 'approved', approvals: [{ user: CAROL }, { user: BOB }] });
    const entries = await audit(requestId);
    expect(entries).toContain(`${CAROL} restore-approve approval-recorded`);
    expect(entries).toContain(`${BOB} restore-approve approved`);
  });

  it('starts exactly one restore when both approvers click at once, each twice', async () => {
    const { message, requestId } = await request();
    const click = (user: string) => f.sim.driver.clickButton({ userId: user, message: { channel: OPS, ts: message.ts }, actionId: 'restore_approve' });
    await Promise.all([click(CAROL), click(BOB), click(CAROL), click(BOB)]);
    await approvedOnScreen(message.ts);
    // Every click is answered (recorded, or refused privately) before the audit is complete.
    await expect.poll(async () => (await audit(requestId)).filter((a) => a.includes('restore-approve')).length, { timeout: 60_000 }).toBe(4);

    const entries = await audit(requestId);
    expect(entries.filter((a) => a.endsWith('restore-approve approved'))).toHaveLength(1);
    expect(entries.filter((a) => a.endsWith('restore-approve approval-recorded'))).toHaveLength(1);
    expect(entries.filter((a) => a.endsWith('restore-approve refused'))).toHaveLength(2);
    expect(await restoreJobs(requestId)).toHaveLength(1);
    const { status, approvals } = await stored(requestId);
    expect(status).toBe('approved');
    expect(approvals.map((a) => a.user).sort()).toEqual([BOB, CAROL].sort());
    // However the clicks interleaved, the plan ends showing the approved state, not a stale "1 more needed".
    expect(textOf(current(message.ts))).not.toContain('restore_approve');
  });

  it('expires the request after the configured minutes, and shows when', async () => {
    const { message, requestId } = await request();
    const { rows } = await f.state.pool.query('SELECT extract(epoch FROM expires_at - created_at)::float AS ttl, floor(extract(epoch FROM expires_at))::bigint AS unix FROM restore_requests WHERE id = $1', [requestId]);
    expect(rows[0].ttl).toBeCloseTo(5 * 60, 0);
    expect(textOf(message)).toContain(`expires <!date^${rows[0].unix}^`);
  });
});
