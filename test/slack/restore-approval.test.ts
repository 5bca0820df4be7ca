import { CreateBucketCommand, DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { readInventory } from '../../src/object-store/inventory.js';
import { listObjects } from '../../src/object-store/list-objects.js';
import { tableChecksums } from '../../src/postgres/server-info.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabaseIfExists } from '../../src/restore/target-databases.js';
import { uniqueName } from '../support/services.js';
import { ALICE, ANNOUNCE, createSlackFixture, DAVE, OPS, type SlackFixture, slackModes } from '../support/slack-fixture.js';
import { removeBucket } from '../restore/restore-fixtures.js';

const CAROL = 'U0APR1';
const textOf = (m: { text?: string; blocks?: unknown[] }) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

describe.each(slackModes())('restores through Slack, with approval (%s)', (slackMode) => {
  let f: SlackFixture;
  let backupId: string;
  /** Every table's checksum in both databases when the backup was taken. */
  let atBackup: Record<'pachyderm' | 'dex', Awaited<ReturnType<typeof tableChecksums>>>;
  const buckets: string[] = [];
  const databases: string[] = [];

  beforeAll(async () => {
    // Carol approves; she may also operate, so that she can ask for a restore herself.
    f = await createSlackFixture({ slackMode, objects: 10, editConfig: (config) => void config.clusters.test.access.operators.users.push(CAROL) });
    backupId = await f.backupThroughSlack();
    await f.finished(backupId);
    atBackup = { pachyderm: await tableChecksums(f.cluster.postgres, f.pachydermDb.name), dex: await tableChecksums(f.cluster.postgres, f.dexDb.name) };
  });
  afterAll(async () => {
    if (f) {
      for (const d of databases) await dropDatabaseIfExists(f.cluster.postgres, d).catch(() => undefined);
      for (const b of buckets) await removeBucket(f.clusterBucket.s3, b).catch(() => undefined);
    }
    await f?.cleanup();
  });

  /** Opens the modal as `user` and returns the view id. */
  async function openModal(user: string): Promise<string> {
    const before = f.sim.calls().filter((c) => c.method === 'views.open').length;
    await f.sim.driver.slashCommand({ userId: user, channelId: OPS, text: 'restore test' });
    await f.sim.waitForCall((c) => c.method === 'views.open' && f.sim.calls().filter((x) => x.method === 'views.open').length > before, { description: 'the restore modal' });
    const modal = f.sim.workspace.modalStack(user).at(-1)!;
    expect(modal).toBeDefined();
    return modal.id;
  }

  it('searches the backups in the picker as the person types, answered by the app within the request', async () => {
    const { viewId, full } = await f.openRestoreModal(ALICE);
    expect(full).toContain('"type":"external_select"');
    const load = async (value: string) => {
      const answer = await f.sim.driver.loadOptions({ userId: ALICE, viewId, actionId: 'backup', value });
      expect(answer.status).toBe(200);
      return JSON.stringify(answer.json);
    };
    expect(await load('')).toContain(`"value":"${backupId}"`);
    expect(await load(backupId.split('-')[1]!.slice(0, 8))).toContain(`"value":"${backupId}"`);
    const none = await load('no-such-backup');
    expect(none).not.toContain(backupId);
    expect(none).toContain('No backup id contains');
  });

  /** Asks for a restore into new databases `<name>_<suffix>` and a new bucket; resolves with the plan message and request id. */
  async function request(user: string, options: { suffix?: string; bucket?: string; inPlace?: boolean } = {}) {
    const suffix = options.suffix ?? uniqueName('s').replace(/-/g, '_');
    const bucket = options.bucket ?? uniqueName('restored');
    buckets.push(bucket);
    databases.push(`${f.pachydermDb.name}_${suffix}`, `${f.dexDb.name}_${suffix}`);
    const viewId = await openModal(user);
    const seen = new Set(f.messagesIn(OPS).map((m) => m.ts));
    const submitted = await f.sim.driver.submitView({
      userId: user,
      viewId,
      values: options.inPlace
        ? { backup: { backup: backupId }, target: { target: 'test' }, databases: { databases: 'original' }, objects: { objects: 'cluster-bucket' }, overwrite: { overwrite: ['overwrite'] }, confirm: { confirm: 'test' } }
        : { backup: { backup: backupId }, target: { target: 'test' }, databases: { databases: 'new' }, suffix: { suffix }, objects: { objects: 'bucket' }, bucket: { bucket }, confirm: { confirm: 'test' } },
    });
    expect(submitted.outcome).toBe('close');
    const message = await f.sim.waitForMessage((m) => m.channel === OPS && !seen.has(m.ts) && /Restore request \S+:/.test(m.text ?? ''), { timeoutMs: 60_000, description: 'the restore plan' });
    const requestId = /Restore request (\S+):/.exec(message.text ?? '')![1]!;
    return { message, requestId, suffix, bucket };
  }

  async function click(user: string, message: { ts: string }, actionId: 'restore_approve' | 'restore_reject') {
    const seen = new Set(f.sim.snapshot().ephemerals.map((e) => e.id));
    await f.sim.driver.clickButton({ userId: user, message: { channel: OPS, ts: message.ts }, actionId });
    return f.sim.waitForEphemeral((e) => e.user === user && !seen.has(e.id), { timeoutMs: 60_000, description: `the answer to ${user}'s click` });
  }

  const current = (ts: string) => f.messagesIn(OPS).find((m) => m.ts === ts)!;
  const threadOf = (ts: string) => current(ts).replies;

  /** Waits for the restore's summary; resolves with its run message (in the ops channel) and the summary reply. */
  async function restoreFinished(runId: string) {
    const summary = await f.sim.waitForMessage((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && (m.text ?? '').includes(`Restore ${runId} of`), {
      timeoutMs: 120_000,
      description: `the summary of ${runId}`,
    });
    return { summary, run: current(summary.thread_ts!) };
  }

  /** What the users' channel showed since Slack call number `since` (one operation at a time): each text posted or edited to. */
  function announcementsSince(since: number): string[] {
    return f.sim
      .calls()
      .slice(since)
      .filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && (c.args as { channel?: string }).channel === ANNOUNCE && !(c.args as { thread_ts?: string }).thread_ts)
      .map((c) => String((c.args as { text?: string }).text));
  }

  it('refuses a submission whose typed name does not match the target', async () => {
    const viewId = await openModal(ALICE);
    const submitted = await f.sim.driver.submitView({ userId: ALICE, viewId, values: { backup: { backup: backupId }, target: { target: 'test' }, objects: { objects: 'cluster-bucket' }, confirm: { confirm: 'prod' } } });
    expect(submitted.outcome).toBe('errors');
    await f.sim.driver.closeView({ userId: ALICE, viewId });
  });

  it('posts the plan with Approve and Reject, and refuses self-approval', async () => {
    const { message, requestId } = await request(CAROL);
    const text = textOf(message);
    expect(text).toContain(backupId);
    expect(text).toContain('restore_approve');
    expect(text).toMatch(/helm upgrade --install/);
    const answer = await click(CAROL, message, 'restore_approve');
    expect(answer.text).toMatch(/you asked for this restore/);
    expect((await f.state.pool.query('SELECT status FROM restore_requests WHERE id = $1', [requestId])).rows[0].status).toBe('pending');
  });

  it('refuses a non-approver', async () => {
    const { message, requestId } = await request(ALICE);
    for (const user of [ALICE, DAVE]) expect((await click(user, message, 'restore_approve')).text).toMatch(/not an approver of test/);
    expect((await f.state.pool.query('SELECT status FROM restore_requests WHERE id = $1', [requestId])).rows[0].status).toBe('pending');
  });

  it('lets an approver reject, replacing the buttons with who rejected, and then refuses approval', async () => {
    const { message, requestId } = await request(ALICE);
    await f.sim.driver.clickButton({ userId: CAROL, message: { channel: OPS, ts: message.ts }, actionId: 'restore_reject' });
    await f.sim.waitForCall((c) => c.method === 'chat.update' && (c.args as { ts?: string }).ts === message.ts, { description: 'the rejected plan' });
    expect(textOf(current(message.ts))).toMatch(/Rejected\* by <@U0APR1>/);
    expect(textOf(current(message.ts))).not.toContain('restore_approve');
    expect((await f.state.pool.query('SELECT status, approvals FROM restore_requests WHERE id = $1', [requestId])).rows[0]).toMatchObject({ status: 'rejected', approvals: [{ user: CAROL, decision: 'reject' }] });
    const audit = (await f.state.audit.list({ limit: 500 })).filter((a) => a.runId === requestId).map((a) => `${a.actor} ${a.action} ${a.outcome}`);
    expect(audit).toContain(`${CAROL} restore-reject rejected`);
  });

  it('refuses an expired request and says so on the plan', async () => {
    const { message, requestId } = await request(ALICE);
    await f.state.pool.query(`UPDATE restore_requests SET expires_at = now() - interval '1 minute' WHERE id = $1`, [requestId]);
    expect((await click(CAROL, message, 'restore_approve')).text).toMatch(/expired/);
    expect(textOf(current(message.ts))).toMatch(/Expired/);
    expect(textOf(current(message.ts))).not.toContain('restore_approve');
  });

  it('voids a request whose plan changed since, saying what changed', async () => {
    const { message, bucket } = await request(ALICE);
    // Someone puts something into the bucket the plan was to create.
    await f.clusterBucket.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await f.clusterBucket.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'surprise', Body: 'x' }));
    const answer = await click(CAROL, message, 'restore_approve');
    expect(answer.text).toMatch(/the plan changed/);
    expect(answer.text).toMatch(/objects: approved/);
    expect(textOf(current(message.ts))).toMatch(/Void/);
    expect((await f.queue.getJobs(['waiting', 'active', 'completed', 'failed'])).filter((j) => j?.name === 'restore')).toHaveLength(0);
  });

  it('starts one restore for a double click, into new databases and a new bucket, and ends with the helm command', async () => {
    // What the backup holds, then damage to the live cluster: a dropped table, deleted objects.
    const original = {
      pachyderm: await tableChecksums(f.cluster.postgres, f.pachydermDb.name),
      dex: await tableChecksums(f.cluster.postgres, f.dexDb.name),
    };
    await f.pachyderm.query('DROP TABLE auth.role_bindings');
    const live = [...(await f.clusterListing()).keys()];
    await f.clusterBucket.s3.send(new DeleteObjectsCommand({ Bucket: f.clusterBucket.name, Delete: { Objects: live.slice(0, 3).map((Key) => ({ Key })) } }));

    const { message, requestId, suffix, bucket } = await request(ALICE);
    const since = f.sim.calls().length;
    await Promise.all([
      f.sim.driver.clickButton({ userId: CAROL, message: { channel: OPS, ts: message.ts }, actionId: 'restore_approve' }),
      f.sim.driver.clickButton({ userId: CAROL, message: { channel: OPS, ts: message.ts }, actionId: 'restore_approve' }),
    ]);
    const { run, summary } = await restoreFinished(requestId);
    expect(summary.text).toMatch(/is complete/);
    expect(textOf(summary)).toMatch(/helm upgrade --install/);
    // The run's own message is the restore's checklist, every step done, no downtime (nothing was paused).
    const checklist = textOf(run);
    for (const step of ['Check the approved plan', 'Verify the backup', 'Restore the databases', 'Copy the objects', 'Put the restored databases in place', 'Render the Helm values']) expect(checklist).toContain(step);
    expect(checklist).not.toMatch(/Pause Pachyderm/);
    expect(checklist).not.toContain('cancel_run');
    // The plan's thread points at it; the rendered values are attached in its thread.
    expect(threadOf(message.ts).map((m) => m.text).join('\n')).toMatch(new RegExp(`Restore \`${requestId}\` started — follow it`));
    const attached = threadOf(run.ts).flatMap((m) => m.files ?? []);
    expect(attached.map((file) => file.name)).toEqual(['restored-values.yaml']);
    expect(attached[0]!.preview).toContain(`${f.pachydermDb.name}_${suffix}`);
    expect(attached[0]!.preview).toContain(bucket);
    // Users were told a restore runs beside the cluster, then that it is done and nothing changed for them yet.
    expect(announcementsSince(since)).toEqual([expect.stringMatching(/is being restored beside it/), expect.stringMatching(/is restored beside it\. Pachyderm keeps running/)]);
    expect(textOf(current(message.ts))).toMatch(/Approved/);
    expect(textOf(current(message.ts))).not.toContain('restore_approve');
    const jobs = (await f.queue.getJobs(['waiting', 'active', 'completed', 'failed'])).filter((j) => j?.name === 'restore');
    expect(jobs.map((j) => j.id)).toEqual([requestId]);
    const runs = await f.state.runs.listRuns({ kind: 'restore' });
    expect(runs.map((r) => r.id)).toEqual([requestId]);
    const audit = (await f.state.audit.list({ limit: 500 })).filter((a) => a.runId === requestId).map((a) => `${a.actor} ${a.action} ${a.outcome}`);
    expect(audit.filter((a) => a === `${CAROL} restore-approve approved`)).toHaveLength(1);
    expect(audit).toContain(`${ALICE} restore-request requested`);
    expect(audit).toContain('pachbackup restore succeeded');

    // Both databases equal the originals table by table, and the new bucket holds every inventory object.
    expect(await tableChecksums(f.cluster.postgres, `${f.pachydermDb.name}_${suffix}`)).toEqual(original.pachyderm);
    expect(await tableChecksums(f.cluster.postgres, `${f.dexDb.name}_${suffix}`)).toEqual(original.dex);
    const manifest = (await f.deps('x').catalog.readManifest('test', backupId))!;
    const inventory = new Map<string, number>();
    for await (const e of readInventory({ s3: f.backupBucket.s3, bucket: f.backupBucket.name, key: manifest.objects.inventory.key })) inventory.set(e.key, e.size);
    const restored = new Map<string, number>();
    for await (const o of listObjects(f.clusterBucket.s3, bucket, '')) restored.set(o.key, o.size);
    expect(restored).toEqual(inventory);
  });

  it('restores in place through Slack: pauses, swaps, resumes, and users hear the whole story', async () => {
    const original = atBackup;
    const replicas = await f.replicas();
    // The damage: a table dropped and objects deleted in the live cluster.
    await f.pachyderm.query('DROP TABLE IF EXISTS pfs.commits CASCADE');
    const live = [...(await f.clusterListing()).keys()];
    await f.clusterBucket.s3.send(new DeleteObjectsCommand({ Bucket: f.clusterBucket.name, Delete: { Objects: live.slice(0, 4).map((Key) => ({ Key })) } }));

    const { message, requestId } = await request(ALICE, { inPlace: true });
    expect(textOf(message)).toMatch(/IN PLACE/);
    expect(textOf(message)).toMatch(/OVERWRITES/);
    const since = f.sim.calls().length;
    await f.sim.driver.clickButton({ userId: CAROL, message: { channel: OPS, ts: message.ts }, actionId: 'restore_approve' });
    const { run, summary } = await restoreFinished(requestId);
    expect(summary.text).toMatch(/is complete/);
    expect(textOf(summary)).toMatch(/already runs on the restored state/);
    // The checklist shows the paused steps and the real downtime.
    const checklist = textOf(run);
    expect(checklist).toMatch(/Pause Pachyderm/);
    expect(checklist).toMatch(/Resume Pachyderm/);
    expect(checklist).toMatch(/Downtime \*/);

    // The cluster runs again, at the replicas it had, on exactly the backup's data.
    expect(await f.replicas()).toEqual(replicas);
    expect(await tableChecksums(f.cluster.postgres, f.pachydermDb.name)).toEqual(original.pachyderm);
    expect(await tableChecksums(f.cluster.postgres, f.dexDb.name)).toEqual(original.dex);
    const listing = await f.clusterListing();
    const manifest = (await f.deps('x').catalog.readManifest('test', backupId))!;
    for await (const e of readInventory({ s3: f.backupBucket.s3, bucket: f.backupBucket.name, key: manifest.objects.inventory.key })) expect(listing.has(e.key), e.key).toBe(true);

    // Users: the restore starts and says which moment they get back, the pause with its expected end, then the
    // all-clear with the real figure. Nothing else.
    const story = announcementsSince(since);
    expect(story).toEqual([
      expect.stringMatching(/is being restored to its state of <!date\^\d+\^.*Once the data is ready it will pause/),
      expect.stringMatching(/is paused since <!date\^\d+\^.* while its data is replaced by the backup of .*Expected back around <!date\^/),
      expect.stringMatching(/is back, restored to its state of <!date\^\d+\^[^>]+> \(paused [\d.]+ (ms|s), estimated/),
    ]);
    const announcement = f.messagesIn(ANNOUNCE).at(-1)!;
    expect(textOf(announcement)).toMatch(/Anything saved to Pachyderm after/);
  });

  it('refuses to start while the cluster is busy, saying who holds it, and tells users nothing', async () => {
    const lock = await f.state.locks.acquire('test', { runId: 'test-busy-run', kind: 'backup', requestedBy: 'someone' });
    try {
      const { message, requestId } = await request(ALICE);
      const since = f.sim.calls().length;
      await f.sim.driver.clickButton({ userId: CAROL, message: { channel: OPS, ts: message.ts }, actionId: 'restore_approve' });
      const { summary } = await restoreFinished(requestId);
      expect(textOf(summary)).toMatch(/did not start/);
      expect(textOf(summary)).toMatch(/busy: backup test-busy-run requested by someone/);
      expect((await f.state.runs.getRun(requestId))?.phase).toBe('failed-validation');
      expect(announcementsSince(since)).toEqual([]);
    } finally {
      await lock.release();
    }
  });
});
