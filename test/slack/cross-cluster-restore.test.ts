import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { dropDatabaseIfExists } from '../../src/restore/target-databases.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { quietLogger } from '../support/pachyderm-fixture.js';
import { createTestBucket, uniqueName } from '../support/services.js';
import { ALICE, ANNOUNCE, BOB, createSlackFixture, DAVE, OPS, type SlackFixture } from '../support/slack-fixture.js';
import { removeBucket } from '../restore/restore-fixtures.js';

const CAROL = 'U0APR1';
/** The second cluster's ops channel (the simulated workspace has two channels; `dev` gets the other one). */
const DEV_OPS = ANNOUNCE;
const textOf = (m: { text?: string; blocks?: unknown[] }) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

/**
 * Two clusters: `test` (whose backup is restored: alice operates it, and bob through the platform group; carol
 * approves) and `dev` (the target: alice, bob and dave operate it, dave approves). Restoring test's backup into dev
 * reads test's data, so it needs test's people.
 */
describe("restoring another cluster's backup", () => {
  let f: SlackFixture;
  let devStore: Awaited<ReturnType<typeof createTestBucket>>;
  let devBucket: Awaited<ReturnType<typeof createTestBucket>>;
  let backupId: string;
  const buckets: string[] = [];
  const databases: string[] = [];

  beforeAll(async () => {
    [devStore, devBucket] = await Promise.all([createTestBucket('devstore'), createTestBucket('devdata')]);
    f = await createSlackFixture({
      objects: 5,
      editConfig: (config) => {
        const test = config.clusters.test;
        // Bob operates test only through the platform group (he leaves it below).
        test.access = { operators: { users: [ALICE], groups: ['S0PLATFORM'] }, approvers: { users: [CAROL] } };
        config.clusters.dev = {
          ...test,
          postgres: { ...test.postgres, databases: [uniqueName('devpach').replace(/-/g, '_'), uniqueName('devdex').replace(/-/g, '_')] },
          objectStore: { ...test.objectStore, bucket: devBucket.name },
          backupStore: { bucket: devStore.name, prefix: 'pachbackup' },
          slack: { opsChannel: DEV_OPS },
          access: { operators: { users: [ALICE, BOB, DAVE], groups: [] }, approvers: { users: [DAVE] } },
        };
      },
    });
    const backup = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(backup.status, backup.error).toBe('succeeded');
    backupId = backup.id;
  }, 180_000);
  afterAll(async () => {
    if (f) {
      for (const d of databases) await dropDatabaseIfExists(f.cluster.postgres, d).catch(() => undefined);
      for (const b of buckets) await removeBucket(f.clusterBucket.s3, b).catch(() => undefined);
    }
    await f?.cleanup();
    await Promise.all([devStore?.drop(), devBucket?.drop()]);
  });

  /** Opens the restore modal as `user`; resolves with its id and the view once the backups are listed. */
  async function openModal(user: string) {
    const { viewId, full } = await f.openRestoreModal(user, 'restore', DEV_OPS);
    return { viewId, view: full };
  }

  /** The values of a restore of test's backup into dev: new databases, a new bucket. */
  function intoDev() {
    const suffix = uniqueName('x').replace(/-/g, '_');
    const bucket = uniqueName('intodev');
    buckets.push(bucket);
    databases.push(`${f.pachydermDb.name}_${suffix}`, `${f.dexDb.name}_${suffix}`);
    return { backup: { backup: backupId }, target: { target: 'dev' }, databases: { databases: 'new' }, suffix: { suffix }, objects: { objects: 'bucket' }, bucket: { bucket }, confirm: { confirm: 'dev' } };
  }

  async function click(user: string, message: { channel: string; ts: string }) {
    const seen = new Set(f.sim.snapshot().ephemerals.map((e) => e.id));
    await f.sim.driver.clickButton({ userId: user, message, actionId: 'restore_approve' });
    return f.sim.waitForEphemeral((e) => e.user === user && !seen.has(e.id), { timeoutMs: 60_000, description: `the answer to ${user}'s click` });
  }
  const status = async (id: string) => (await f.state.pool.query('SELECT status FROM restore_requests WHERE id = $1', [id])).rows[0]?.status as string | undefined;

  it("does not offer an operator of dev alone test's backups", async () => {
    const { view } = await openModal(DAVE);
    expect(view).not.toContain(backupId);
    expect(view).toMatch(/no complete backup/);
  });

  it("refuses a request for test's backup from someone who no longer operates test, even from a form opened before", async () => {
    const { viewId, view } = await openModal(BOB);
    expect(view).toContain(backupId);
    // Bob leaves the platform group while the form is open.
    const platform = f.sim.workspace.usergroup('S0PLATFORM')!;
    platform.users = platform.users.filter((u) => u !== BOB);
    // The form closes at once (acknowledged before the rights are read); the refusal follows privately.
    const submitted = await f.sim.driver.submitView({ userId: BOB, viewId, values: intoDev() });
    expect(submitted.outcome).toBe('close');
    const told = await f.sim.waitForEphemeral((e) => e.user === BOB && /whose backup this is/.test(e.text), { description: 'the refusal' });
    expect(told.text).toMatch(/not an operator of test, whose backup this is/);
    const refused = (await f.state.audit.list({ limit: 200 })).find((a) => a.actor === BOB && a.action === 'restore-request' && a.outcome === 'refused');
    expect(refused?.detail).toMatchObject({ sourceCluster: 'test', backupId });
    expect(f.messagesIn(DEV_OPS).filter((m) => /Restore request/.test(m.text))).toEqual([]);
  });

  it("stays pending with only dev's approver, and runs once test's approver approves from test's ops channel", async () => {
    const { viewId, view } = await openModal(ALICE);
    expect(view).toContain(backupId);
    expect((await f.sim.driver.submitView({ userId: ALICE, viewId, values: intoDev() })).outcome).toBe('close');
    // The plan goes to both ops channels.
    const inDev = await f.sim.waitForMessage((m) => m.channel === DEV_OPS && /Restore request \S+:/.test(m.text), { timeoutMs: 60_000, description: "the plan in dev's channel" });
    const requestId = /Restore request (\S+):/.exec(inDev.text)![1]!;
    const inTest = await f.sim.waitForMessage((m) => m.channel === OPS && m.text.includes(`Restore request ${requestId}:`), { timeoutMs: 30_000, description: "the plan in test's channel" });
    expect(textOf(inDev)).toMatch(/needs 1 approval from test's approvers/);

    // Dev's approver alone: not enough (the restore writes nothing dev runs on, so test's approvers decide).
    expect((await click(DAVE, { channel: DEV_OPS, ts: inDev.ts })).text).toMatch(/not an approver of test/);
    expect(await status(requestId)).toBe('pending');

    // Test's approver, from test's channel: approved, and the restore runs into dev.
    await f.sim.driver.clickButton({ userId: CAROL, message: { channel: OPS, ts: inTest.ts }, actionId: 'restore_approve' });
    const summary = await f.sim.waitForMessage((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && m.text.includes(`Restore ${requestId} of`), { timeoutMs: 120_000, description: 'the restore summary' });
    expect(summary.text).toMatch(/is complete/);
    expect(await status(requestId)).toBe('started');
    // Both plan messages show the approval.
    for (const m of [inDev, inTest]) expect(textOf(f.messagesIn(m.channel).find((x) => x.ts === m.ts)!)).toMatch(/Approved\* by <@U0APR1>/);
    // The audit names both clusters, and who asked and approved as the state database has them.
    const audit = (await f.state.audit.list({ limit: 500 })).filter((a) => a.runId === requestId);
    expect(audit.find((a) => a.action === 'restore-request')?.detail).toMatchObject({ sourceCluster: 'test', targetCluster: 'dev' });
    expect(audit.find((a) => a.action === 'restore' && a.outcome === 'succeeded')?.detail).toMatchObject({ sourceCluster: 'test', targetCluster: 'dev', requestedBy: ALICE, approvedBy: [CAROL] });
  }, 240_000);
});
