import { describe, expect, it } from 'vitest';
import { SCHEDULE_ID, canonicalTimeZone, configScheduleId, configSchedules, cronProblem, intervalProblem, isTimeZone, newScheduleId, nextRunTimes } from '../../src/schedules/schedule.js';
import { isUsageError, parseCommand, SCHEDULE_USAGE } from '../../src/slack/parse-command.js';

describe('cron expressions and zones', () => {
  it('accepts 5 fields, 6 with seconds first, and aliases', () => {
    for (const cron of ['0 3 * * *', '*/15 * * * *', '0 3 * * MON-FRI', '*/2 * * * * *', '@daily', '0 3 1 1 *']) expect(cronProblem(cron), cron).toBeUndefined();
  });

  it('says what is wrong with anything else, including what cron-parser would quietly fill in', () => {
    expect(cronProblem('* * *')).toBe('the cron expression has 3 fields; it needs 5, or 6 with seconds first');
    expect(cronProblem('0 3 * * * * *')).toBe('the cron expression has 7 fields; it needs 5, or 6 with seconds first');
    expect(cronProblem('')).toBe('the cron expression is empty');
    expect(cronProblem('61 3 * * *')).toMatch(/got value 61 expected range 0-59/);
    expect(cronProblem('0 3 * * 8')).toMatch(/expected range 0-7/);
    expect(cronProblem('@reboot')).toBeDefined();
  });

  it('knows IANA zones and spells them canonically', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('+01:00')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
  });

  it('reads the expression in its zone, across daylight saving time', () => {
    // 03:00 in Berlin is 02:00 UTC in winter and 01:00 UTC in summer (the clocks go forward on 29 Mar 2026).
    const runs = nextRunTimes('0 3 * * *', 'Europe/Berlin', new Date('2026-03-27T12:00:00Z'), 3).map((d) => d.toISOString());
    expect(runs).toEqual(['2026-03-28T02:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T01:00:00.000Z']);
    expect(nextRunTimes('*/2 * * * * *', 'UTC', new Date('2026-01-01T00:00:00.500Z'), 2).map((d) => d.toISOString())).toEqual(['2026-01-01T00:00:02.000Z', '2026-01-01T00:00:04.000Z']);
  });
});

describe('how often a schedule may run', () => {
  const from = new Date('2026-11-24T12:00:00Z');
  it('lets daily, hourly and quarter-hourly schedules through', () => {
    for (const cron of ['0 3 * * *', '0 * * * *', '*/15 * * * *', '0 3 1 1 *', '@weekly']) expect(intervalProblem(cron, 'Europe/Berlin', 15 * 60, from), cron).toBeUndefined();
  });

  it('refuses runs closer than the minimum, wherever they bunch up', () => {
    expect(intervalProblem('* 3 * * *', 'UTC', 15 * 60, from)).toMatch(/^its runs come as close as 1 min apart; runs must be at least 15 min apart/);
    expect(intervalProblem('0,5 3 * * *', 'UTC', 15 * 60, from)).toMatch(/as close as 5 min apart/);
    expect(intervalProblem('*/2 * * * * *', 'UTC', 15 * 60, from)).toMatch(/as close as 2 s apart/);
    expect(intervalProblem('*/2 * * * * *', 'UTC', 2, from)).toBeUndefined();
    expect(intervalProblem('* * * * * *', 'UTC', 0, from)).toBeUndefined();
  });
});

describe('schedule ids', () => {
  it('gives a config schedule the same id whatever its position, and another cron or zone another id', () => {
    const id = configScheduleId('prod', '0 3 * * *', 'Europe/Berlin');
    expect(id).toMatch(/^config-prod-[0-9a-f]{8}$/);
    expect(configScheduleId('prod', ' 0 3 * * * ', 'Europe/Berlin')).toBe(id);
    expect(configScheduleId('prod', '0 4 * * *', 'Europe/Berlin')).not.toBe(id);
    expect(configScheduleId('prod', '0 3 * * *', 'UTC')).not.toBe(id);
    const schedules = configSchedules({ prod: { name: 'prod', schedules: [{ cron: '0 3 * * *', timezone: 'Europe/Berlin', headsUpMinutes: 30 }] } });
    expect(schedules).toEqual([{ id, cluster: 'prod', cron: '0 3 * * *', timezone: 'Europe/Berlin', headsUpMinutes: 30, source: 'config' }]);
  });

  it('makes ids BullMQ accepts in job ids (no colon) that `schedule remove` recognises', () => {
    const id = newScheduleId();
    expect(id).toMatch(SCHEDULE_ID);
    expect(id).not.toContain(':');
    expect(configScheduleId('prod-eu', '@daily', 'UTC')).toMatch(SCHEDULE_ID);
  });
});

describe('`/pachbackup schedule` parsing', () => {
  const clusters = ['prod', 'staging'];

  it('parses a new schedule, with the zone defaulting to UTC', () => {
    expect(parseCommand('schedule prod "0 3 * * *" Europe/Berlin', clusters)).toEqual({ name: 'schedule', action: 'add', cluster: 'prod', cron: '0 3 * * *', timezone: 'Europe/Berlin' });
    expect(parseCommand('schedule staging “*/2 * * * * *”', clusters)).toEqual({ name: 'schedule', action: 'add', cluster: 'staging', cron: '*/2 * * * * *', timezone: 'UTC' });
    expect(parseCommand("schedule prod '0  3 * * *' america/new_york", clusters)).toEqual({ name: 'schedule', action: 'add', cluster: 'prod', cron: '0 3 * * *', timezone: 'America/New_York' });
  });

  it('parses list and remove', () => {
    expect(parseCommand('schedule list', clusters)).toEqual({ name: 'schedule', action: 'list' });
    expect(parseCommand('schedule remove sched-1a2b3c', clusters)).toEqual({ name: 'schedule', action: 'remove', scheduleId: 'sched-1a2b3c' });
  });

  it('lets clusters named list or remove be scheduled', () => {
    expect(parseCommand('schedule list "0 3 * * *"', ['list'])).toMatchObject({ action: 'add', cluster: 'list' });
    expect(parseCommand('schedule remove "0 3 * * *"', ['remove'])).toMatchObject({ action: 'add', cluster: 'remove' });
    expect(parseCommand('schedule remove sched-1a2b3c', ['remove'])).toMatchObject({ action: 'remove' });
  });

  const bad: [string, RegExp, string][] = [
    ['schedule', /needs a cluster and a cron expression in quotes, or `list`, or `remove <schedule-id>`/, SCHEDULE_USAGE.add],
    ['schedule nosuch "0 3 * * *"', /unknown cluster `nosuch`; configured clusters: prod, staging/, SCHEDULE_USAGE.add],
    ['schedule prod', /`schedule prod` needs a cron expression in quotes/, SCHEDULE_USAGE.add],
    ['schedule prod 0 3 * * *', /too many arguments after the cluster \(5\): put the cron expression in quotes/, SCHEDULE_USAGE.add],
    ['schedule prod "61 3 * * *"', /`61 3 \* \* \*` is not a cron expression: Constraint error, got value 61 expected range 0-59; expected something like "0 3 \* \* \*"/, SCHEDULE_USAGE.add],
    ['schedule prod "0 3 *"', /is not a cron expression: the cron expression has 3 fields/, SCHEDULE_USAGE.add],
    ['schedule prod "0 3 * * *" Mars/Olympus_Mons', /unknown time zone `Mars\/Olympus_Mons`; expected an IANA time zone such as Europe\/Berlin/, SCHEDULE_USAGE.add],
    ['schedule prod "0 3 * * *" --heads-up 5', /`schedule` takes no option `--heads-up`/, SCHEDULE_USAGE.add],
    ['schedule list prod', /`schedule list` takes no arguments/, SCHEDULE_USAGE.list],
    ['schedule remove', /`schedule remove` needs a schedule id/, SCHEDULE_USAGE.remove],
    ['schedule remove a b', /takes one schedule id, got 2 arguments/, SCHEDULE_USAGE.remove],
    ['schedule remove $(reboot)', /`\$\(reboot\)` is not a schedule id; ids look like sched-1a2b3c/, SCHEDULE_USAGE.remove],
  ];
  for (const [text, error, usage] of bad) {
    it(`refuses "${text}" with the error and the usage of that form`, () => {
      const parsed = parseCommand(text, clusters);
      expect(isUsageError(parsed)).toBe(true);
      expect(parsed).toMatchObject({ error: expect.stringMatching(error), usage });
    });
  }
});
