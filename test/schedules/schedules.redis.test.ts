import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { operationsQueueName, type OperationJobData } from '../../src/jobs/operations-queue.js';
import { configScheduleId, nextRunTimes, type Schedule } from '../../src/schedules/schedule.js';
import { createScheduleJobs, headsUpJobId, type ScheduleJobs } from '../../src/schedules/schedule-jobs.js';
import { createScheduleStore } from '../../src/schedules/schedule-store.js';
import { createSchedules, type Schedules } from '../../src/schedules/schedules.js';
import { migrate } from '../../src/state/migrations.js';
import { createTestDatabase, services, uniqueName } from '../support/services.js';

/** Where a delayed job becomes due (epoch ms). */
const dueAt = (job: { timestamp: number; delay: number }) => job.timestamp + job.delay;

describe('schedules as BullMQ job schedulers (Redis, PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let redis: Redis;
  let queue: Queue<OperationJobData>;
  let jobs: ScheduleJobs;
  let schedules: Schedules;
  const configured = { cron: '0 3 1 1 *', timezone: 'Europe/Berlin', headsUpMinutes: 0 };
  const configuredId = configScheduleId('prod', configured.cron, configured.timezone);

  beforeAll(async () => {
    db = await createTestDatabase('schedules');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool);
    redis = new Redis(services().redisUrl, { maxRetriesPerRequest: null });
    queue = new Queue<OperationJobData>(operationsQueueName(uniqueName('pachbackup-test')), { connection: redis });
    jobs = createScheduleJobs(queue);
    // Only what schedules read of the config: the clusters, their names and schedules.
    const config = { clusters: { prod: { name: 'prod', schedules: [configured] }, staging: { name: 'staging', schedules: [] } } } as unknown as Config;
    schedules = createSchedules({ config, store: createScheduleStore(pool), jobs });
  });
  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await redis?.quit();
    await pool?.end();
    await db?.drop();
  });

  it('installs a job scheduler per schedule, and a heads-up delayed until its minutes before the next run', async () => {
    const nightly: Schedule = { id: 'sched-0a0b0c', cluster: 'prod', cron: '0 3 * * *', timezone: 'Europe/Berlin', headsUpMinutes: 30, source: 'slack' };
    const before = new Date();
    await jobs.install(nightly);
    const scheduler = await queue.getJobScheduler(nightly.id);
    expect(scheduler).toMatchObject({ key: nightly.id, name: 'scheduled-backup', pattern: '0 3 * * *', tz: 'Europe/Berlin', template: { data: { kind: 'scheduled-backup', scheduleId: nightly.id, cluster: 'prod' } } });
    // The next run is the one cron-parser computes in the schedule's zone: 03:00 Berlin, whatever the season.
    const next = scheduler!.next!;
    expect(next).toBe(nextRunTimes(nightly.cron, nightly.timezone, before, 1)[0]!.getTime());

    const headsUp = await queue.getJob(headsUpJobId(nightly.id, next));
    expect(headsUp?.name).toBe('heads-up');
    expect(headsUp?.data).toEqual({ kind: 'heads-up', scheduleId: nightly.id, cluster: 'prod', runAt: next });
    if (next - before.getTime() > 31 * 60_000) {
      expect(await headsUp!.getState()).toBe('delayed');
      // Due 30 minutes before the run (give or take the moment it was queued).
      expect(Math.abs(dueAt(headsUp!) - (next - 30 * 60_000))).toBeLessThan(60_000);
    }

    // A worker restart installs it again: still one scheduler, one heads-up.
    await jobs.install(nightly);
    expect((await jobs.list()).filter((s) => s.key === nightly.id)).toHaveLength(1);
    const delayed = await queue.getJobs(['delayed', 'waiting']);
    expect(delayed.filter((j) => j.data.kind === 'heads-up' && j.data.scheduleId === nightly.id)).toHaveLength(1);

    await jobs.uninstall(nightly.id);
    expect(await queue.getJobScheduler(nightly.id)).toBeUndefined();
    expect(await queue.getJob(headsUpJobId(nightly.id, next))).toBeUndefined();
  });

  it('queues no heads-up for a schedule without one', async () => {
    const quiet: Schedule = { id: 'sched-0d0e0f', cluster: 'prod', cron: '0 4 * * *', timezone: 'UTC', headsUpMinutes: 0, source: 'slack' };
    await jobs.install(quiet);
    const next = (await queue.getJobScheduler(quiet.id))!.next!;
    expect(await queue.getJob(headsUpJobId(quiet.id, next))).toBeUndefined();
    await jobs.uninstall(quiet.id);
  });

  it('adds a Slack-made schedule to the database and the queue, and refuses the same one twice', async () => {
    const added = await schedules.add({ cluster: 'staging', cron: '30 2 * * 1-5', timezone: 'America/New_York', headsUpMinutes: 30, createdBy: 'U0OPS1' });
    expect(added.added).toBe(true);
    if (!added.added) return;
    expect(added.schedule).toMatchObject({ cluster: 'staging', cron: '30 2 * * 1-5', timezone: 'America/New_York', source: 'slack', createdBy: 'U0OPS1' });
    expect((await pool.query('SELECT cluster, cron, timezone, heads_up_minutes, created_by FROM schedules')).rows).toEqual([
      { cluster: 'staging', cron: '30 2 * * 1-5', timezone: 'America/New_York', heads_up_minutes: 30, created_by: 'U0OPS1' },
    ]);
    expect(await queue.getJobScheduler(added.schedule.id)).toMatchObject({ pattern: '30 2 * * 1-5', tz: 'America/New_York' });

    const again = await schedules.add({ cluster: 'staging', cron: '30 2 * * 1-5', timezone: 'America/New_York', headsUpMinutes: 10, createdBy: 'U0OPS2' });
    expect(again).toEqual({ added: false, reason: 'duplicate', existing: added.schedule });
    const asInConfig = await schedules.add({ cluster: 'prod', ...configured, createdBy: 'U0OPS1' });
    expect(asInConfig).toMatchObject({ added: false, reason: 'duplicate', existing: { id: configuredId, source: 'config' } });
    // Every minute of the 03:00 hour, where 03:00 was meant: refused, nothing stored or installed.
    const slip = await schedules.add({ cluster: 'staging', cron: '* 3 * * *', timezone: 'UTC', headsUpMinutes: 30, createdBy: 'U0OPS1' });
    expect(slip).toMatchObject({ added: false, reason: 'too-frequent', problem: expect.stringContaining('as close as 1 min apart; runs must be at least 15 min apart') });

    expect((await schedules.list()).map((s) => s.id)).toEqual([configuredId, added.schedule.id]);
    expect(await schedules.get(added.schedule.id)).toMatchObject({ cron: '30 2 * * 1-5' });
  });

  it('removes a Slack-made schedule with its job scheduler, but never one from the config file', async () => {
    const [made] = (await schedules.list()).filter((s) => s.source === 'slack');
    expect(await schedules.remove(configuredId)).toMatchObject({ removed: false, reason: 'config' });
    expect(await schedules.remove('sched-ffffff')).toEqual({ removed: false, reason: 'unknown' });
    expect(await schedules.remove(made!.id)).toMatchObject({ removed: true, schedule: { id: made!.id } });
    expect(await queue.getJobScheduler(made!.id)).toBeUndefined();
    expect((await pool.query('SELECT count(*)::int AS n FROM schedules')).rows[0].n).toBe(0);
  });

  it('makes the queue match the schedules at a worker start: installs the config file’s, drops what is gone', async () => {
    const made = await schedules.add({ cluster: 'prod', cron: '0 1 * * *', timezone: 'UTC', headsUpMinutes: 30, createdBy: 'U0OPS1' });
    // A schedule removed from the config file while no worker ran still has its job scheduler.
    const stale = configScheduleId('prod', '0 2 * * *', 'UTC');
    await jobs.install({ id: stale, cluster: 'prod', cron: '0 2 * * *', timezone: 'UTC', headsUpMinutes: 0, source: 'config' });

    const synced = await schedules.sync();
    expect(synced.removed).toEqual([stale]);
    const keys = (await jobs.list()).map((s) => s.key).sort();
    expect(keys).toEqual([configuredId, made.added ? made.schedule.id : ''].sort());
    expect(await queue.getJobScheduler(configuredId)).toMatchObject({ pattern: '0 3 1 1 *', tz: 'Europe/Berlin' });
  });
});
