import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { tableChecksums } from '../../src/postgres/server-info.js';
import { killStartedClis } from '../support/cli-process.js';
import { killEveryAttempt, killWorker, startDyingWorker } from '../support/dying-workers.js';
import { ALICE, ANNOUNCE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

const CAROL = 'U0APR1';

let fixture: SlackFixture | undefined;
afterEach(async () => {
  killStartedClis(); // worker processes: none outlives its test, whatever its outcome
  await fixture?.cleanup();
  fixture = undefined;
});

/** What a message says now: its text and its blocks. */
const shown = (m: { text?: string; blocks?: unknown[] }) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

/** Where the first worker dies: once the cluster is paused (the live databases untouched), or once the backup's are live. */
const cases = [
  { diesAfter: 'Pause Pachyderm', swapped: false },
  { diesAfter: 'Put the restored databases in place', swapped: true },
];

describe('an approved restore whose workers keep dying', () => {
  it.each(cases)('dying after $diesAfter, is ended by the next worker with the cluster resumed, and its message, thread and announcement to users say how it ended', async ({ diesAfter, swapped }) => {
    const f = (fixture = await createSlackFixture({ podDelayMs: 2000, objects: 10, worker: false, lockTtlMs: 5000 }));
    const before = await f.replicas();
    const first = startDyingWorker(f.configFile);
    const backupId = await f.backupThroughSlack();
    await f.finished(backupId, 90_000);
    const atBackup = await tableChecksums(f.cluster.postgres, f.pachydermDb.name);
    // The live database moves on after the backup, so that the restored one can be told from it.
    const live = new pg.Client({ connectionString: f.pachydermDb.url });
    await live.connect();
    await live.query(`INSERT INTO public.migrations (id, name) VALUES (999999, 'written after the backup')`);
    await live.end();
    const afterBackup = await tableChecksums(f.cluster.postgres, f.pachydermDb.name);
    expect(afterBackup).not.toEqual(atBackup);

    // An in-place restore, approved by a second person.
    const { message: plan, requestId: runId } = await f.requestRestore(ALICE, {
      backup: { backup: backupId },
      target: { target: 'test' },
      databases: { databases: 'original' },
      objects: { objects: 'cluster-bucket' },
      overwrite: { overwrite: ['overwrite'] },
      confirm: { confirm: 'test' },
    });
    await f.sim.driver.clickButton({ userId: CAROL, message: { channel: OPS, ts: plan.ts }, actionId: 'restore_approve' });
    await f.sim.waitForMessage((m) => m.channel === ANNOUNCE && /restor/.test(m.text ?? ''), { timeoutMs: 60_000, description: 'the restore announcement' });
    // The first worker dies as soon as the step is done (its reply in the restore's thread).
    await f.sim.waitForMessage((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && m.text.includes(`✅ ${diesAfter}`) && f.messagesIn(OPS).some((p) => p.ts === m.thread_ts && p.text.includes(runId)), {
      timeoutMs: 60_000,
      description: `the restore's step "${diesAfter}" done`,
    });
    await killWorker(first);
    expect((await f.replicas()).pachd).toBe(0);
    await killEveryAttempt(f.queue, f.configFile, runId);

    // The next worker: BullMQ fails the job (stalled too often); the worker's sweep (every lock TTL) ends the run.
    const worker = await f.reportingWorker();
    try {
      const summary = await f.sim.waitForMessage((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && (m.text ?? '').includes(`Restore ${runId} of`), {
        timeoutMs: 90_000,
        description: 'the restore summary',
      });
      expect(await (await f.queue.getJob(runId))?.isFailed()).toBe(true);
      const run = await f.state.runs.getRun(runId);
      expect(run?.phase).toBe('failed');
      expect(summary.text).not.toMatch(/is complete/);
      // The target cluster runs again with the replicas it had.
      expect(await f.replicas()).toEqual(before);

      const runMessage = f.messagesIn(OPS).find((m) => m.text.includes(runId) && !/Restore request/.test(m.text))!;
      const thread = runMessage.replies.map((r) => r.text).join('\n');
      expect((await f.state.runs.getSteps(runId)).some((s) => s.name === 'swap-databases' && s.state === 'done')).toBe(swapped);
      if (swapped) {
        // Past the swap: the thread says the backup's databases are live now, and they are.
        expect(thread).toMatch(/interrupted after the restored databases were put in place/);
        expect(await tableChecksums(f.cluster.postgres, f.pachydermDb.name)).toEqual(atBackup);
      } else {
        // Before the swap: the thread says it was undone, and the live databases are as they were.
        expect(thread).toMatch(/interrupted: the process running this restore stopped; pachbackup undid what it had started and resumed the cluster/);
        expect(await tableChecksums(f.cluster.postgres, f.pachydermDb.name)).toEqual(afterBackup);
      }
      // Nothing a user sees still says the restore runs or the cluster is paused.
      // (the badges of a running restore and of a step under way, and the paused banner).
      expect(shown(runMessage)).toMatch(/❌ Failed/);
      expect(shown(runMessage)).not.toMatch(/🔄|_running_|Pachyderm is paused/);
      const announcements = f.messagesIn(ANNOUNCE).filter((m) => /restor/.test(m.text));
      expect(announcements).toHaveLength(1);
      expect(shown(announcements[0]!)).not.toMatch(/⏸️|is paused/);
      expect(announcements[0]!.text).toMatch(/is back/);
    } finally {
      await worker.stop();
    }
  }, 240_000);
});
