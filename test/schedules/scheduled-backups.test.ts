import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVE_PHASES } from '../../src/runner/run-phase.js';
import { configScheduleId } from '../../src/schedules/schedule.js';
import { ALICE, ANNOUNCE, createSlackFixture, DAVE, OPS, type SlackFixture } from '../support/slack-fixture.js';

const textOf = (m: { text?: string; blocks?: unknown[] }) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;
/** Every two seconds (BullMQ reads a 6th, leading field as seconds): the schedule fires while a backup runs. */
const EVERY_TWO_SECONDS = '*/2 * * * * *';
const CONFIGURED = { cron: '0 3 1 1 *', timezone: 'Europe/Berlin', headsUpMinutes: 0 };
const CONFIGURED_ID = configScheduleId('test', CONFIGURED.cron, CONFIGURED.timezone);
const ADD_USAGE = '/pachbackup schedule &lt;cluster&gt; "&lt;cron&gt;" [time zone]';

describe('scheduled backups', () => {
  let f: SlackFixture;

  /** Polls `probe` until it returns something (schedulers fire on their own clock; there is no event to wait on). */
  async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await sleep(250);
    }
  }

  /** Adds a schedule as ALICE and returns its id. */
  async function addSchedule(cron: string): Promise<{ id: string; reply: { text?: string; blocks?: unknown[] } }> {
    const { reply } = await f.command(ALICE, `schedule test "${cron}"`);
    const id = /\(schedule (sched-[0-9a-f]{6})\)/.exec(reply.text ?? '')?.[1];
    expect(id, textOf(reply)).toBeDefined();
    return { id: id!, reply };
  }

  /** Removes a schedule as ALICE, then waits until nothing runs on the cluster or waits in the queue. */
  async function removeAndSettle(id: string): Promise<void> {
    const { reply } = await f.command(ALICE, `schedule remove ${id}`);
    expect(textOf(reply)).toContain(`Removed schedule ${id}`);
    expect(await f.queue.getJobScheduler(id)).toBeUndefined();
    let last = '';
    await eventually(async () => {
      const counts = await f.queue.getJobCounts('active', 'waiting', 'prioritized');
      const active = await f.state.runs.listRuns({ cluster: 'test', phases: ACTIVE_PHASES });
      const busy = Object.values(counts).reduce((a, b) => a + b, 0);
      last = `queue ${JSON.stringify(counts)}, active runs ${JSON.stringify(active.map((r) => [r.id, r.kind, r.phase]))}`;
      return busy === 0 && active.length === 0 ? true : undefined;
    }, 'the cluster and the queue to be quiet', 240_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${last}`);
    });
  }

  /** The first top-level ops-channel message of a run whose id matches, and its id. */
  function runMessages(): { runId: string; ts: string }[] {
    return f
      .messagesIn(OPS)
      .flatMap((m) => {
        const id = /Backup of .+ \((test-\d{8}t\d{6}z-[0-9a-f]{4})\)/.exec(m.text)?.[1];
        return id ? [{ runId: id, ts: m.ts }] : [];
      });
  }
  const skips = () => f.messagesIn(OPS).filter((m) => /Scheduled backup of .* skipped/.test(m.text));

  beforeAll(async () => {
    // Schedules made in Slack may normally run no closer than 15 min apart; these tests need every 2 s.
    process.env.PACHBACKUP_SCHEDULE_MIN_INTERVAL_SECONDS = '2';
    f = await createSlackFixture({
      podDelayMs: 2000,
      editConfig: (config) => {
        config.clusters.test.displayName = 'Pachyderm test';
        config.clusters.test.schedules = [CONFIGURED];
      },
    });
  });
  afterAll(async () => {
    if (!f) return;
    for (const scheduler of await f.queue.getJobSchedulers()) await f.queue.removeJobScheduler(scheduler.key);
    await f.cleanup();
    delete process.env.PACHBACKUP_SCHEDULE_MIN_INTERVAL_SECONDS;
  });

  it('installs the config file’s schedules when the worker starts, and lists them to anyone', async () => {
    expect(await f.queue.getJobScheduler(CONFIGURED_ID)).toMatchObject({ name: 'scheduled-backup', pattern: CONFIGURED.cron, tz: 'Europe/Berlin' });
    const { reply } = await f.command(DAVE, 'schedule list');
    expect(reply.user).toBe(DAVE);
    const text = textOf(reply);
    expect(text).toContain(`\`${CONFIGURED_ID}\` · no heads-up · config file`);
    expect(text).toContain('`0 3 1 1 *` in Europe/Berlin · next <!date^');
  });

  const refusals: [string, string, string, RegExp, string][] = [
    ['someone who is not an operator', DAVE, 'schedule test "0 3 * * *"', /you are not an operator of test: only its operators may schedule its backups/, 'schedule list is open to everyone'],
    ['a bad cron expression', ALICE, 'schedule test "0 25 * * *"', /`0 25 \* \* \*` is not a cron expression: Constraint error, got value 25 expected range 0-23/, ADD_USAGE],
    ['an unquoted cron expression', ALICE, 'schedule test 0 3 * * *', /put the cron expression in quotes/, ADD_USAGE],
    ['a schedule that would run too often', ALICE, 'schedule test "* * * * * *"', /`\* \* \* \* \* \*` runs too often: its runs come as close as 1 s apart; runs must be at least 2 s apart, since each one pauses Pachyderm/, ADD_USAGE],
    ['an unknown time zone', ALICE, 'schedule test "0 3 * * *" Europe/Atlantis', /unknown time zone `Europe\/Atlantis`; expected an IANA time zone/, ADD_USAGE],
    ['removing a config file schedule', ALICE, `schedule remove ${CONFIGURED_ID}`, new RegExp(`${CONFIGURED_ID} is defined in the config file \\(clusters\\.test\\.schedules\\), so it cannot be removed from Slack`), 'remove it from the config file'],
    ['removing an unknown schedule', ALICE, 'schedule remove sched-abcdef', /no schedule sched-abcdef/, '/pachbackup schedule list shows the schedules'],
  ];
  for (const [what, user, text, error, usage] of refusals) {
    it(`refuses ${what} privately, with the right usage, and changes nothing`, async () => {
      const before = (await f.queue.getJobSchedulers()).map((s) => s.key).filter((k) => !k.startsWith('maintenance:')).sort();
      const { reply } = await f.command(user, text);
      expect(reply.user).toBe(user);
      expect(textOf(reply)).toMatch(error);
      expect(textOf(reply)).toContain(usage);
      expect((await f.queue.getJobSchedulers()).map((s) => s.key).filter((k) => !k.startsWith('maintenance:')).sort()).toEqual(before);
      expect(await f.state.runs.listRuns({ cluster: 'test' })).toEqual([]);
    });
  }

  describe('a schedule made in Slack', () => {
    let scheduleId: string;
    let created: { text?: string; blocks?: unknown[] };
    let runId: string;
    let skipped: string;

    beforeAll(async () => {
      ({ id: scheduleId, reply: created } = await addSchedule(EVERY_TWO_SECONDS));
      // A non-operator cannot remove it.
      const refused = await f.command(DAVE, `schedule remove ${scheduleId}`);
      expect(textOf(refused.reply)).toMatch(/you are not an operator of test: only its operators may remove its schedules/);
      // It fires on its own, and keeps firing (and being skipped) while its backup runs.
      runId = (await eventually(async () => runMessages()[0], 'the first scheduled run')).runId;
      skipped = (await eventually(async () => skips()[0], 'a skipped run')).text;
      await f.finished(runId, 240_000);
      await removeAndSettle(scheduleId);
    }, 600_000);

    it('is confirmed privately with its id, its zone and the next three runs as Slack date tokens', () => {
      const text = textOf(created);
      expect(text).toContain(`Scheduled backups of *Pachyderm test* (\`test\`): \`${EVERY_TWO_SECONDS}\` in UTC — schedule \`${scheduleId}\``);
      expect(JSON.stringify(created.blocks).match(/<!date\^\d+\^\{date_short_pretty\} at \{time_secs\}\|/g)).toHaveLength(3);
      expect(text).toContain(`Users in <#${ANNOUNCE}> get a heads-up 30 min before each run`);
    });

    it('runs a backup to success, requested by the schedule, with its checklist thread in the ops channel', async () => {
      const run = await f.state.runs.getRun(runId);
      expect(run).toMatchObject({ phase: 'succeeded', requestedBy: `schedule:${scheduleId}` });
      expect((run!.estimate as { expectedSeconds: number }).expectedSeconds).toBeGreaterThan(0);
      const message = f.messagesIn(OPS).find((m) => m.text.includes(runId))!;
      expect(textOf(message)).toMatch(/Succeeded/);
      expect(textOf(message)).toContain(`schedule:${scheduleId}`);
      expect(message.replies.at(-1)?.text).toContain(runId);
    });

    it('tells users ahead: the upcoming announcement of that run comes before its pause announcement', async () => {
      const accepted = (await f.state.audit.list({ cluster: 'test', limit: 500 })).find((e) => e.action === 'scheduled-backup' && e.runId === runId)!;
      const scheduledFor = Math.floor(Date.parse(accepted.detail!.scheduledFor as string) / 1000);
      const announcements = f.sim.calls().filter((c) => c.method === 'chat.postMessage' && c.args.channel === ANNOUNCE).map((c) => textOf(c.args as { text?: string; blocks?: unknown[] }));
      const headsUp = announcements.findIndex((t) => t.includes(`Heads-up: Pachyderm *Pachyderm test* will pause for a backup at <!date^${scheduledFor}^`));
      const paused = announcements.findIndex((t) => /Pachyderm \*Pachyderm test\* is paused for a backup/.test(t));
      expect(headsUp, announcements.join('\n---\n')).toBeGreaterThanOrEqual(0);
      expect(paused).toBeGreaterThan(headsUp);
      expect(announcements[headsUp]).toMatch(/for about .+ Expected back around <!date\^/);
    });

    it('skips a run while the cluster is busy, saying so in the ops channel', async () => {
      expect(skipped).toMatch(new RegExp(`^⏭️ Scheduled backup of Pachyderm test skipped: backup test-\\S+ by schedule:${scheduleId} is (running|queued)\\.$`));
      const busyRun = /backup (test-\S+) by/.exec(skipped)![1]!;
      expect((await f.state.runs.getRun(busyRun))?.requestedBy).toBe(`schedule:${scheduleId}`);
    });

    it('audits the schedule’s changes and what each of its runs did', async () => {
      const entries = await f.state.audit.list({ cluster: 'test', limit: 1000 });
      const seen = new Set(entries.map((e) => `${e.actor} ${e.action} ${e.outcome}`));
      expect(seen).toContain(`${ALICE} schedule-add accepted`);
      expect(seen).toContain(`${ALICE} schedule-remove accepted`);
      expect(seen).toContain(`${DAVE} schedule-add refused`);
      expect(seen).toContain(`${DAVE} schedule-remove refused`);
      expect(seen).toContain(`schedule:${scheduleId} scheduled-backup accepted`);
      expect(seen).toContain(`schedule:${scheduleId} scheduled-backup refused`);
      const add = entries.find((e) => e.action === 'schedule-add' && e.outcome === 'accepted')!;
      expect(add.detail).toMatchObject({ scheduleId, cron: EVERY_TWO_SECONDS, timezone: 'UTC' });
    });

    it('stops running once removed, and is no longer listed', async () => {
      const runs = (await f.state.runs.listRuns({ cluster: 'test' })).length;
      expect((await f.queue.getJobSchedulers()).map((s) => s.key).filter((k) => !k.startsWith('maintenance:'))).toEqual([CONFIGURED_ID]);
      const { reply } = await f.command(DAVE, 'schedule list');
      expect(textOf(reply)).not.toContain(scheduleId);
      await sleep(4000); // two firing periods: nothing may start
      expect((await f.state.runs.listRuns({ cluster: 'test' })).length).toBe(runs);
    });
  });

  it('tells users a pause they were told about is off when its schedule is removed', async () => {
    // A daily run ten minutes from now: within the 30-minute heads-up, so users are told at once.
    const at = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 10 * 60_000);
    const { id } = await addSchedule(`${at.getUTCMinutes()} ${at.getUTCHours()} * * *`);
    const unix = Math.floor(at.getTime() / 1000);
    const headsUp = await f.sim.waitForMessage((m) => m.channel === ANNOUNCE && m.text.includes(`will pause for a backup at <!date^${unix}^`), { timeoutMs: 60_000 });
    await removeAndSettle(id);
    const after = f.messagesIn(ANNOUNCE).find((m) => m.ts === headsUp.ts)!;
    expect(after.text).toMatch(new RegExp(`^ℹ️ No pause at <!date\\^${unix}\\^.* after all: the scheduled backup of Pachyderm \\*Pachyderm test\\* is cancelled: its schedule was removed\\.$`));
    expect(await f.state.runs.listRuns({ cluster: 'test', phases: ACTIVE_PHASES })).toEqual([]);
  });

  it('skips a scheduled run while another operation holds the cluster, naming it and who started it', async () => {
    const manual = await f.backupThroughSlack(ALICE);
    await eventually(async () => ((await f.state.locks.holder('test'))?.runId === manual ? true : undefined), 'the manual backup to hold the cluster');
    const before = skips().length;
    const { id } = await addSchedule(EVERY_TWO_SECONDS);
    const skip = await eventually(async () => skips().slice(before)[0], 'the skipped scheduled run');
    await removeAndSettle(id);
    expect(skip.text).toBe(`⏭️ Scheduled backup of Pachyderm test skipped: backup ${manual} by <@${ALICE}> is running.`);
    expect(textOf(skip)).toContain(`Schedule \`${id}\` (\`${EVERY_TWO_SECONDS}\` in UTC) of \`test\``);
    expect(await f.state.runs.getRun(manual)).toMatchObject({ phase: 'succeeded' });
    const refusal = (await f.state.audit.list({ cluster: 'test', limit: 1000 })).findLast((e) => e.actor === `schedule:${id}` && e.outcome === 'refused');
    expect(refusal?.detail).toMatchObject({ reason: 'busy', busyRunId: manual, busyRequestedBy: `<@${ALICE}>` });
    // Its users had been told a pause was coming at that time; the heads-up now says there is none.
    const at = Math.floor(Date.parse(refusal!.detail!.scheduledFor as string) / 1000);
    // (The skip is audited before the heads-up is edited: wait for the edit.)
    const headsUpOf = () => f.messagesIn(ANNOUNCE).find((m) => textOf(m).includes(`<!date^${at}^`));
    await eventually(async () => (/^ℹ️ No pause/.test(headsUpOf()?.text ?? '') ? true : undefined), 'the heads-up of the skipped run to be withdrawn', 30_000).catch(() => undefined);
    expect(headsUpOf()?.text).toMatch(/^ℹ️ No pause at .* after all: the scheduled backup of Pachyderm \*Pachyderm test\* is skipped/);
  }, 600_000);
});
