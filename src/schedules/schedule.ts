import { createHash, randomBytes } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { IANAZone } from 'luxon';

/**
 * A backup schedule: a cron expression read in an IANA time zone (so "03:00 Europe/Berlin" stays 03:00 across
 * daylight saving), with a heads-up posted to the cluster's users that many minutes before each run.
 *
 * Schedules come from two places: the config file (`clusters.<name>.schedules`, changed by editing the file and
 * restarting the workers) and Slack (`/pachbackup schedule`, kept in the state database). Both run the same way:
 * one BullMQ job scheduler per schedule, keyed by the schedule's id.
 */
export interface Schedule {
  /** `config-<cluster>-<hash>` for the config file's, `sched-<hex>` for Slack's; never contains ':' (BullMQ ids). */
  id: string;
  cluster: string;
  cron: string;
  /** IANA zone the cron expression is read in. */
  timezone: string;
  /** Minutes before each run the users' channel is told; 0 for no heads-up. */
  headsUpMinutes: number;
  /** `config`: from the config file, changed only there; `slack`: made with `/pachbackup schedule`. */
  source: 'config' | 'slack';
  /** Who made it (a Slack user id), for Slack's. */
  createdBy?: string;
  createdAt?: Date;
}

/** The heads-up used when none is given. */
export const DEFAULT_HEADS_UP_MINUTES = 30;
export const DEFAULT_TIMEZONE = 'UTC';

/** The closest two runs of a schedule made in Slack may be, by default: each run pauses Pachyderm. */
export const DEFAULT_MIN_INTERVAL_SECONDS = 15 * 60;

/** What a cron expression looks like, for messages. */
export const CRON_EXAMPLE = '"0 3 * * *" (minute hour day-of-month month day-of-week; an optional 6th field in front for seconds)';

const ALIAS = /^@(yearly|annually|monthly|weekly|daily|hourly)$/;

/**
 * Why `cron` is not a usable cron expression, or undefined when it is. Accepts what BullMQ's job schedulers run
 * (cron-parser): 5 fields, or 6 with seconds first, or an alias such as `@daily`. cron-parser quietly fills in
 * missing fields (`* * *` would mean every minute), so the field count is checked here first.
 */
export function cronProblem(cron: string): string | undefined {
  const text = cron.trim();
  if (text === '') return 'the cron expression is empty';
  if (!ALIAS.test(text)) {
    const fields = text.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) return `the cron expression has ${fields} field${fields === 1 ? '' : 's'}; it needs 5, or 6 with seconds first`;
  }
  try {
    CronExpressionParser.parse(text, { tz: 'UTC' }).next();
  } catch (err) {
    return (err as Error).message.split('\n')[0] ?? 'not a cron expression';
  }
  return undefined;
}

/** Whether `zone` is an IANA time zone this runtime knows (as luxon and cron-parser read it). */
export function isTimeZone(zone: string): boolean {
  return zone.trim() !== '' && IANAZone.isValidZone(zone);
}

/** The canonical spelling of a valid zone (`europe/berlin` → `Europe/Berlin`); the input when there is none. */
export function canonicalTimeZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return zone;
  }
}

/** The next `count` run times of a cron expression in `timezone`, strictly after `from`. */
export function nextRunTimes(cron: string, timezone: string, from: Date, count: number): Date[] {
  const expression = CronExpressionParser.parse(cron.trim(), { tz: timezone, currentDate: from });
  const times: Date[] = [];
  for (let i = 0; i < count && expression.hasNext(); i++) times.push(expression.next().toDate());
  return times;
}

/**
 * Why runs of `cron` would come too close together (less than `minSeconds` apart somewhere in its next 100 runs),
 * or undefined. Catches the classic slip `* 3 * * *` (every minute from 03:00 to 03:59) for `0 3 * * *`: every run
 * pauses Pachyderm, so a schedule that fires every minute keeps the cluster paused.
 */
export function intervalProblem(cron: string, timezone: string, minSeconds: number, from = new Date()): string | undefined {
  if (minSeconds <= 0) return undefined;
  const runs = nextRunTimes(cron, timezone, from, 100).map((d) => d.getTime());
  let closest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < runs.length; i++) closest = Math.min(closest, runs[i]! - runs[i - 1]!);
  if (closest >= minSeconds * 1000) return undefined;
  const gap = closest % 60_000 === 0 ? `${closest / 60_000} min` : `${closest / 1000} s`;
  const min = minSeconds % 60 === 0 ? `${minSeconds / 60} min` : `${minSeconds} s`;
  return `its runs come as close as ${gap} apart; runs must be at least ${min} apart, since each one pauses Pachyderm (did you mean a 0 in the minute field?)`;
}

/**
 * The id of a schedule written in the config file: stable across restarts and reorderings of the list (it is
 * made from the cluster, cron and zone, not the position), so a worker restart updates the same BullMQ job
 * scheduler rather than adding another.
 */
export function configScheduleId(cluster: string, cron: string, timezone: string): string {
  const hash = createHash('sha256').update(`${cluster}\n${cron.trim()}\n${timezone}`).digest('hex').slice(0, 8);
  return `config-${cluster}-${hash}`;
}

/** A new id for a schedule made in Slack. */
export function newScheduleId(random: () => string = () => randomBytes(3).toString('hex')): string {
  return `sched-${random()}`;
}

/** What schedule ids look like (both kinds), for parsing commands. */
export const SCHEDULE_ID = /^(sched-[0-9a-f]{6}|config-[a-z0-9]([-a-z0-9]*[a-z0-9])?-[0-9a-f]{8})$/;

/** The schedules written in the config file, all clusters. */
export function configSchedules(clusters: Record<string, { name: string; schedules: { cron: string; timezone: string; headsUpMinutes: number }[] }>): Schedule[] {
  return Object.values(clusters).flatMap((cluster) =>
    cluster.schedules.map((s) => ({
      id: configScheduleId(cluster.name, s.cron, s.timezone),
      cluster: cluster.name,
      cron: s.cron.trim(),
      timezone: s.timezone,
      headsUpMinutes: s.headsUpMinutes,
      source: 'config' as const,
    })),
  );
}
