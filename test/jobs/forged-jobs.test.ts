import { Queue, type Job } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { operationsQueueName } from '../../src/jobs/operations-queue.js';
import { newOperationId } from '../../src/restore/operation-id.js';
import { restoreDepsFor } from '../../src/restore/restore-deps-for.js';
import { planRestore, type RestorePlan } from '../../src/restore/restore-plan.js';
import type { RestoreRequest } from '../../src/restore/restore-request.js';
import { createRestoreRequestStore } from '../../src/restore/restore-request-store.js';
import { dropDatabaseIfExists } from '../../src/restore/target-databases.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { quietLogger } from '../support/pachyderm-fixture.js';
import { uniqueName } from '../support/services.js';
import { ALICE, createSlackFixture, type SlackFixture } from '../support/slack-fixture.js';
import { removeBucket } from '../restore/restore-fixtures.js';

/** Carol approves restores of the test cluster (and may ask for them: she operates it too). */
const CAROL = 'U0APR1';
const MARKER = 'created_after_backup';

/**
 * An attacker with nothing but the Redis URL (the queue's connection) adds jobs of their own. The worker must run
 * only what the state database says was confirmed, scheduled or approved — by people who hold those rights now —
 * and refuse the rest, audited with the reason, touching nothing.
 */
describe('jobs forged in Redis', () => {
  let f: SlackFixture;
  /** The attacker's own connection to the queue: a BullMQ Queue on the Redis URL, nothing else. */
  let attacker: Queue;
  let backupId: string;
  let inPlace: RestorePlan;
  const requests = () => createRestoreRequestStore(f.state.pool);
  const buckets: string[] = [];
  const databases: string[] = [];

  beforeAll(async () => {
    f = await createSlackFixture({ objects: 5, editConfig: (config) => void config.clusters.test.access.operators.users.push(CAROL) });
    attacker = new Queue(operationsQueueName(f.config.redis.prefix), { connection: { url: f.config.redis.url } });
    const backup = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(backup.status, backup.error).toBe('succeeded');
    backupId = backup.id;
    // Made after the backup: an in-place restore of that backup makes it disappear.
    await query(`CREATE TABLE ${MARKER} (id int)`);
    inPlace = await plan({ backupId, databases: { kind: 'original' }, objects: { kind: 'cluster-bucket' }, overwrite: true });
    expect(inPlace.refusals).toEqual([]);
    expect(inPlace.inPlace).toBe(true);
  }, 180_000);
  // Each attack starts from a live database that has the table (an earlier one that got through dropped it).
  beforeEach(async () => {
    await query(`CREATE TABLE IF NOT EXISTS ${MARKER} (id int)`);
  });
  afterAll(async () => {
    await attacker?.close();
    if (f) {
      for (const d of databases) await dropDatabaseIfExists(f.cluster.postgres, d).catch(() => undefined);
      for (const b of buckets) await removeBucket(f.clusterBucket.s3, b).catch(() => undefined);
    }
    await f?.cleanup();
  });

  /** One statement on the live pachyderm database, on a connection of its own (a restore may replace the database). */
  async function query(sql: string) {
    const client = new pg.Client({ connectionString: f.pachydermDb.url });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  }
  const markerExists = async () => (await query(`SELECT to_regclass('public.${MARKER}') AS t`)).rows[0].t !== null;

  /** The plan of `request` into the test cluster, as the app computes it (an attacker can copy one from an earlier job). */
  async function plan(request: RestoreRequest): Promise<RestorePlan> {
    const env = restoreDepsFor(f.config, f.cluster, f.state, { id: newOperationId('restore', 'test'), backupId, requestedBy: 'test' });
    try {
      return await planRestore({ env, request, verification: 'if-stale' });
    } finally {
      env.close();
    }
  }

  /** A restore request in the state database as the app stores it, then moved to `status` with `approvals`. */
  async function storedRequest(options: { requestedBy: string; status: string; approvals?: string[]; expired?: boolean; plan?: RestorePlan }) {
    const id = newOperationId('restore', 'test');
    const p = options.plan ?? inPlace;
    await requests().create({ id, cluster: 'test', request: p.request, plan: p, requestedBy: options.requestedBy, requiredApprovals: 1 });
    const approvals = (options.approvals ?? []).map((user) => ({ user, decision: 'approve', at: new Date().toISOString() }));
    await f.state.pool.query(
      `UPDATE restore_requests SET status = $2, approvals = $3, run_id = CASE WHEN $2 IN ('approved', 'started') THEN id END,
              expires_at = CASE WHEN $4 THEN now() - interval '1 minute' ELSE expires_at END WHERE id = $1`,
      [id, options.status, JSON.stringify(approvals), options.expired ?? false],
    );
    return id;
  }

  /** Adds a job as the attacker and waits until a worker is done with it. */
  async function forge(name: string, data: Record<string, unknown>, jobId: string): Promise<Job> {
    const job = await attacker.add(name, data, { jobId });
    const deadline = Date.now() + 150_000;
    for (;;) {
      const state = await job.getState();
      if (state === 'completed' || state === 'failed') return (await attacker.getJob(jobId))!;
      if (Date.now() > deadline) throw new Error(`the forged ${name} job ${jobId} is still ${state}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** A restore job as the app used to queue it: the plan, who asked and who approved, all taken from the job. */
  const restoreJob = (runId: string, requestId: string, p: RestorePlan, requestedBy = ALICE, approvedBy = CAROL) => ({
    kind: 'restore',
    runId,
    requestId,
    cluster: 'test',
    plan: p,
    requestedBy: `<@${requestedBy}>`,
    approvedBy: `<@${approvedBy}>`,
  });

  /** The audit log's refusal of the forged job's run. */
  async function refusal(runId: string, action: string) {
    const entries = (await f.state.audit.list({ limit: 1000 })).filter((a) => a.runId === runId && a.action === action);
    return entries.find((a) => a.outcome === 'refused');
  }

  async function expectRefusedRestore(runId: string, jobId: string, reason: RegExp) {
    expect(await markerExists(), 'the live database was restored over').toBe(true);
    const refused = await refusal(runId, 'restore');
    expect(refused?.actor).toBe('pachbackup');
    expect(String(refused?.detail?.reason)).toMatch(reason);
    expect(refused?.detail?.job).toBe(jobId);
    // Nothing ran: no restore run, and no approval shows up that never happened.
    expect((await f.state.audit.list({ limit: 1000 })).filter((a) => a.runId === runId && a.action === 'restore' && a.outcome !== 'refused')).toEqual([]);
  }

  it('refuses a restore job made up from nothing (an invented request, a plan copied from elsewhere)', async () => {
    const runId = newOperationId('restore', 'test');
    await forge('restore', restoreJob(runId, runId, inPlace), runId);
    await expectRefusedRestore(runId, runId, /no restore request .* in the state database/);
    expect(await f.state.runs.getRun(runId)).toBeUndefined();
  });

  it('refuses a real request that nobody approved', async () => {
    const id = await storedRequest({ requestedBy: ALICE, status: 'pending' });
    await forge('restore', restoreJob(id, id, inPlace), id);
    await expectRefusedRestore(id, id, /not approved/);
    expect((await requests().get(id))?.status).toBe('pending');
  });

  it('refuses a request whose approval expired', async () => {
    const id = await storedRequest({ requestedBy: ALICE, status: 'approved', approvals: [CAROL], expired: true });
    await forge('restore', restoreJob(id, id, inPlace), id);
    await expectRefusedRestore(id, id, /expired/);
    expect((await requests().get(id))?.status).toBe('approved');
  });

  it('refuses a request that already ran, even under a new run id', async () => {
    const id = await storedRequest({ requestedBy: ALICE, status: 'started', approvals: [CAROL] });
    await f.state.runs.createRun({ id, kind: 'restore', cluster: 'test', requestedBy: `<@${ALICE}>` });
    await f.state.runs.finishRun(id, { phase: 'succeeded', warnings: [] });
    const again = newOperationId('restore', 'test');
    await forge('restore', restoreJob(again, id, inPlace), again);
    await expectRefusedRestore(again, again, /already (ran|started)/);
    expect(await f.state.runs.getRun(again)).toBeUndefined();
  });

  it('refuses a request approved only by the person who asked for it', async () => {
    const id = await storedRequest({ requestedBy: CAROL, status: 'approved', approvals: [CAROL] });
    await forge('restore', restoreJob(id, id, inPlace, CAROL, CAROL), id);
    await expectRefusedRestore(id, id, /requester/);
  });

  it('runs an approved request as approved in the state database, whatever plan the job carries', async () => {
    // Approved: a restore beside the cluster. The forged job swaps in the in-place plan.
    const suffix = uniqueName('s').replace(/-/g, '_');
    const bucket = uniqueName('beside');
    buckets.push(bucket);
    databases.push(`${f.pachydermDb.name}_${suffix}`, `${f.dexDb.name}_${suffix}`);
    const beside = await plan({ backupId, databases: { kind: 'new', suffix }, objects: { kind: 'bucket', bucket } });
    const id = await storedRequest({ requestedBy: ALICE, status: 'approved', approvals: [CAROL], plan: beside });
    const job = await forge('restore', restoreJob(id, id, inPlace), id);
    expect(await markerExists(), 'the live database was restored over').toBe(true);
    expect(job.returnvalue).toMatchObject({ status: 'succeeded', fingerprint: beside.fingerprint, inPlace: false });
    const done = (await f.state.audit.list({ limit: 1000 })).find((a) => a.runId === id && a.action === 'restore' && a.outcome === 'succeeded');
    // Who asked and who approved come from the state database.
    expect(done?.detail).toMatchObject({ requestedBy: ALICE, approvedBy: [CAROL] });
    expect((await requests().get(id))?.status).toBe('started');
  }, 180_000);

  it('refuses a backup job that no one confirmed and no schedule made', async () => {
    const runId = newBackupId('test');
    const replicas = await f.replicas();
    await forge('backup', { kind: 'backup', runId, cluster: 'test', requestedBy: `<@${ALICE}>` }, runId);
    const refused = await refusal(runId, 'backup');
    expect(String(refused?.detail?.reason)).toMatch(/no backup run .* was confirmed or scheduled/);
    expect(await f.state.runs.getRun(runId)).toBeUndefined();
    expect((await f.deps('x').catalog.list('test')).backups.map((b) => b.manifest.id)).not.toContain(runId);
    expect(await f.replicas()).toEqual(replicas);
  });

  it('refuses a scheduled-backup job for a time its schedule does not run at', async () => {
    // A real schedule (daily at 03:00, made in Slack); the forged job claims a run of it now.
    const { reply } = await f.command(ALICE, 'schedule test "0 3 * * *"');
    const scheduleId = /\(schedule (sched-[0-9a-f]{6})\)/.exec(reply.text ?? '')![1]!;
    const now = Math.floor(Date.now() / 1000) * 1000;
    const at = new Date(now).getUTCHours() === 3 && new Date(now).getUTCMinutes() === 0 ? now + 1000 : now;
    const runsBefore = (await f.state.runs.listRuns({ cluster: 'test', kind: 'backup', limit: 1000 })).length;
    const job = await forge('scheduled-backup', { kind: 'scheduled-backup', scheduleId, cluster: 'test' }, `repeat:forged:${at}`);
    expect(job.returnvalue).toMatchObject({ status: 'refused', reason: expect.stringMatching(/does not run at/) });
    expect((await f.state.runs.listRuns({ cluster: 'test', kind: 'backup', limit: 1000 })).length).toBe(runsBefore);
    const refused = (await f.state.audit.list({ limit: 1000 })).find((a) => a.action === 'scheduled-backup' && a.outcome === 'refused');
    expect(refused?.detail).toMatchObject({ scheduleId, job: `repeat:forged:${at}` });
    await f.command(ALICE, `schedule remove ${scheduleId}`);
  });

  it('refuses a drill job that no one asked for', async () => {
    const runId = newOperationId('drill', 'test');
    await forge('drill', { kind: 'drill', runId, cluster: 'test', requestedBy: `<@${ALICE}>` }, runId);
    const refused = await refusal(runId, 'drill');
    expect(String(refused?.detail?.reason)).toMatch(/no drill .* was asked for/);
    expect(await f.state.runs.getRun(runId)).toBeUndefined();
  });

});
