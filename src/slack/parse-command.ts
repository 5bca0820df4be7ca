import { CRON_EXAMPLE, DEFAULT_TIMEZONE, SCHEDULE_ID, canonicalTimeZone, cronProblem, isTimeZone } from '../schedules/schedule.js';

/**
 * `/pachbackup <subcommand> ...` as typed in Slack, parsed into a command or a usage error that says what was
 * wrong and what would be right. Parsing is pure and strict: unknown subcommands, missing or extra arguments,
 * unknown flags and over-long input are refused before anything else happens.
 */
export type ParsedCommand =
  | { name: 'help' }
  | { name: 'status'; cluster?: string }
  | { name: 'backup'; cluster: string; note?: string }
  | { name: 'estimate'; cluster: string }
  | { name: 'list'; cluster: string; page?: number }
  | { name: 'show'; backupId: string }
  | { name: 'history'; cluster: string }
  | { name: 'cancel'; runId: string }
  | { name: 'drill'; cluster: string; backupId?: string }
  | { name: 'restore'; cluster?: string }
  | ScheduleCommand;

/** `schedule <cluster> "<cron>" [zone]`, `schedule list` and `schedule remove <schedule-id>`. */
export type ScheduleCommand =
  | { name: 'schedule'; action: 'add'; cluster: string; cron: string; timezone: string }
  | { name: 'schedule'; action: 'list' }
  | { name: 'schedule'; action: 'remove'; scheduleId: string };

export interface UsageError {
  error: string;
  usage: string;
}

/** Each subcommand's usage line, as `help` shows it. */
export const USAGE: Record<ParsedCommand['name'], string> = {
  help: '/pachbackup help',
  status: '/pachbackup status [cluster]',
  backup: '/pachbackup backup <cluster> [--note "text"]',
  estimate: '/pachbackup estimate <cluster>',
  list: '/pachbackup list <cluster> [page]',
  show: '/pachbackup show <backup-id>',
  history: '/pachbackup history <cluster>',
  cancel: '/pachbackup cancel <run-id>',
  drill: '/pachbackup drill <cluster> [backup-id]',
  restore: '/pachbackup restore [cluster]',
  schedule: '/pachbackup schedule <cluster> "<cron>" [time zone]',
};

/** The usage of each form of `schedule`. */
export const SCHEDULE_USAGE = {
  add: USAGE.schedule,
  list: '/pachbackup schedule list',
  remove: '/pachbackup schedule remove <schedule-id>',
} as const;

/** Longest command text accepted; Slack allows far more, but no valid command needs it. */
export const MAX_COMMAND_LENGTH = 1000;
/** Longest note kept with a backup. */
export const MAX_NOTE_LENGTH = 300;

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RUN_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Splits on whitespace, keeping "double" or 'single' or “smart” quoted strings together. */
function tokenize(text: string): string[] | UsageError {
  const tokens: string[] = [];
  const re = /\s*(?:"([^"]*)"|'([^']*)'|“([^”]*)”|(\S+))/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    if (m[0].trim() === '') break;
    if (m[4] !== undefined && /^["'“]/.test(m[4])) return { error: 'a quote is not closed', usage: USAGE.backup };
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? '');
    consumed = re.lastIndex;
  }
  if (text.slice(consumed).trim() !== '') return { error: 'a quote is not closed', usage: USAGE.backup };
  return tokens;
}

function shown(value: string): string {
  const text = value.length > 40 ? `${value.slice(0, 37)}...` : value;
  return `\`${text.replace(/`/g, "'")}\``;
}

export function parseCommand(text: string, clusters: readonly string[]): ParsedCommand | UsageError {
  if (text.length > MAX_COMMAND_LENGTH) {
    return { error: `the command is ${text.length} characters long; commands are at most ${MAX_COMMAND_LENGTH}`, usage: USAGE.help };
  }
  const tokens = tokenize(text.trim());
  if (!Array.isArray(tokens)) return tokens;
  const [sub, ...args] = tokens;
  if (sub === undefined || sub === 'help') {
    if (args.length > 0) return { error: '`help` takes no arguments', usage: USAGE.help };
    return { name: 'help' };
  }
  const known = Object.keys(USAGE);
  if (!known.includes(sub)) {
    return { error: `unknown subcommand ${shown(sub)}; expected one of ${known.join(', ')}`, usage: USAGE.help };
  }
  const name = sub as ParsedCommand['name'];
  const cluster = (value: string | undefined): string | UsageError => {
    if (value === undefined) return { error: `\`${name}\` needs a cluster: one of ${clusters.join(', ')}`, usage: USAGE[name] };
    if (!NAME.test(value) || !clusters.includes(value)) return { error: `unknown cluster ${shown(value)}; configured clusters: ${clusters.join(', ')}`, usage: USAGE[name] };
    return value;
  };
  const flags = args.filter((a) => a.startsWith('--'));
  if (name !== 'backup' && flags.length > 0) return { error: `\`${name}\` takes no option ${shown(flags[0]!)}`, usage: USAGE[name] };

  switch (name) {
    case 'restore': {
      if (args.length > 1) return { error: '`restore` takes at most one cluster; the rest is chosen in the form it opens', usage: USAGE.restore };
      if (args.length === 0) return { name };
      const c = cluster(args[0]);
      return typeof c === 'string' ? { name, cluster: c } : c;
    }
    case 'status': {
      if (args.length > 1) return { error: '`status` takes at most one cluster', usage: USAGE.status };
      if (args.length === 0) return { name };
      const c = cluster(args[0]);
      return typeof c === 'string' ? { name, cluster: c } : c;
    }
    case 'list': {
      if (args.length > 2) return { error: `\`list\` takes a cluster and a page number, got ${args.length} arguments`, usage: USAGE.list };
      const c = cluster(args[0]);
      if (typeof c !== 'string') return c;
      if (args.length === 1) return { name, cluster: c };
      const page = Number(args[1]);
      if (!/^[1-9][0-9]{0,5}$/.test(args[1]!) || !Number.isSafeInteger(page)) return { error: `${shown(args[1]!)} is not a page number; pages are 1, 2, 3… (page 1 is the newest backups)`, usage: USAGE.list };
      return { name, cluster: c, ...(page > 1 ? { page } : {}) };
    }
    case 'estimate':
    case 'history': {
      if (args.length > 1) return { error: `\`${name}\` takes one cluster, got ${args.length} arguments`, usage: USAGE[name] };
      const c = cluster(args[0]);
      return typeof c === 'string' ? { name, cluster: c } : c;
    }
    case 'show':
    case 'cancel': {
      const id = args[0];
      const what = name === 'show' ? 'a backup id' : 'a run id';
      if (id === undefined) return { error: `\`${name}\` needs ${what} (see \`/pachbackup list <cluster>\`)`, usage: USAGE[name] };
      if (args.length > 1) return { error: `\`${name}\` takes one id, got ${args.length} arguments`, usage: USAGE[name] };
      if (!RUN_ID.test(id) || id.length > 100) return { error: `${shown(id)} is not ${what}; ids look like prod-20261124t031500z-7f3a`, usage: USAGE[name] };
      return name === 'show' ? { name, backupId: id } : { name, runId: id };
    }
    case 'backup': {
      let note: string | undefined;
      const positional: string[] = [];
      for (let i = 0; i < args.length; i++) {
        const arg = args[i]!;
        if (arg === '--note') {
          const value = args[++i];
          if (value === undefined || value === '') return { error: '`--note` needs a text, e.g. --note "before the 2.12 upgrade"', usage: USAGE.backup };
          if (value.length > MAX_NOTE_LENGTH) return { error: `the note is ${value.length} characters; at most ${MAX_NOTE_LENGTH}`, usage: USAGE.backup };
          note = value;
        } else if (arg.startsWith('--')) {
          return { error: `unknown option ${shown(arg)}; \`backup\` takes --note`, usage: USAGE.backup };
        } else {
          positional.push(arg);
        }
      }
      if (positional.length > 1) return { error: `\`backup\` takes one cluster, got ${positional.join(' ')}; quote a note with --note "..."`, usage: USAGE.backup };
      const c = cluster(positional[0]);
      if (typeof c !== 'string') return c;
      return note === undefined ? { name, cluster: c } : { name, cluster: c, note };
    }
    case 'drill': {
      if (args.length > 2) return { error: `\`drill\` takes a cluster and at most one backup id, got ${args.length} arguments`, usage: USAGE.drill };
      const c = cluster(args[0]);
      if (typeof c !== 'string') return c;
      const id = args[1];
      if (id === undefined) return { name, cluster: c };
      if (!RUN_ID.test(id) || id.length > 100) return { error: `${shown(id)} is not a backup id; ids look like prod-20261124t031500z-7f3a (see \`/pachbackup list ${c}\`)`, usage: USAGE.drill };
      return { name, cluster: c, backupId: id };
    }
    case 'schedule':
      return parseSchedule(args, cluster);
    default:
      return { name: 'help' };
  }
}

/**
 * `schedule list`, `schedule remove <id>`, or `schedule <cluster> "<cron>" [zone]`. The words `list` and `remove`
 * win over clusters of those names unless what follows only makes sense as a new schedule.
 */
function parseSchedule(args: string[], cluster: (value: string | undefined) => string | UsageError): ScheduleCommand | UsageError {
  const [first, ...rest] = args;
  if (first === undefined) {
    return { error: '`schedule` needs a cluster and a cron expression in quotes, or `list`, or `remove <schedule-id>`', usage: SCHEDULE_USAGE.add };
  }
  const isCluster = (value: string) => cluster(value) === value;
  if (first === 'list' && !(rest.length > 0 && isCluster('list'))) {
    if (rest.length > 0) return { error: '`schedule list` takes no arguments', usage: SCHEDULE_USAGE.list };
    return { name: 'schedule', action: 'list' };
  }
  if (first === 'remove' && !(isCluster('remove') && rest[0] !== undefined && cronProblem(rest[0]) === undefined)) {
    const id = rest[0];
    if (id === undefined) return { error: '`schedule remove` needs a schedule id (`/pachbackup schedule list` shows them)', usage: SCHEDULE_USAGE.remove };
    if (rest.length > 1) return { error: `\`schedule remove\` takes one schedule id, got ${rest.length} arguments`, usage: SCHEDULE_USAGE.remove };
    if (!SCHEDULE_ID.test(id)) return { error: `${shown(id)} is not a schedule id; ids look like sched-1a2b3c (\`/pachbackup schedule list\` shows them)`, usage: SCHEDULE_USAGE.remove };
    return { name: 'schedule', action: 'remove', scheduleId: id };
  }
  const c = cluster(first);
  if (typeof c !== 'string') return c;
  const [cron, zone, ...extra] = rest;
  if (cron === undefined) return { error: `\`schedule ${c}\` needs a cron expression in quotes, e.g. "0 3 * * *" for 03:00 every day`, usage: SCHEDULE_USAGE.add };
  if (extra.length > 0) {
    return { error: `too many arguments after the cluster (${rest.length}): put the cron expression in quotes, e.g. "0 3 * * *", then the time zone`, usage: SCHEDULE_USAGE.add };
  }
  const problem = cronProblem(cron);
  if (problem !== undefined) return { error: `${shown(cron)} is not a cron expression: ${problem}; expected something like ${CRON_EXAMPLE}`, usage: SCHEDULE_USAGE.add };
  const timezone = zone ?? DEFAULT_TIMEZONE;
  if (!isTimeZone(timezone)) return { error: `unknown time zone ${shown(timezone)}; expected an IANA time zone such as Europe/Berlin, America/New_York or UTC`, usage: SCHEDULE_USAGE.add };
  return { name: 'schedule', action: 'add', cluster: c, cron: cron.trim().replace(/\s+/g, ' '), timezone: canonicalTimeZone(timezone) };
}

export function isUsageError(value: ParsedCommand | UsageError): value is UsageError {
  return 'error' in value;
}
