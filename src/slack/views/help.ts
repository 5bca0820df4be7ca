import { SLASH_COMMAND } from '../slack-ids.js';
import { type SlackMessage, context, header, messageText, section } from './block-kit.js';
import { codeSpan, escapeAndTruncate, escapeEntities, escapeMrkdwn, markedCode, truncateText } from './mrkdwn.js';

/** One subcommand of the slash command: how it is typed and what it does. */
export interface CommandHelp {
  usage: string;
  description: string;
}

/**
 * Every subcommand that exists today, in the order `help` lists them. The command listener can hand
 * `COMMAND_HELP.backup.usage` to `usageError` so help and errors never disagree.
 */
export const COMMAND_HELP = {
  help: { usage: `${SLASH_COMMAND} help`, description: 'This list.' },
  status: { usage: `${SLASH_COMMAND} status [cluster]`, description: 'Whether Pachyderm is up or paused, its pods, what is running and the last good backup.' },
  backup: { usage: `${SLASH_COMMAND} backup <cluster> [--note text]`, description: 'Back up a cluster now. Shows what will be paused and for how long, and asks you to confirm.' },
  estimate: { usage: `${SLASH_COMMAND} estimate <cluster>`, description: 'How long a backup would pause the cluster right now, step by step.' },
  list: { usage: `${SLASH_COMMAND} list <cluster> [page]`, description: 'The complete backups of a cluster, newest first, 25 to a page (page 2 is the next older 25).' },
  show: { usage: `${SLASH_COMMAND} show <backup-id>`, description: 'Everything recorded about one backup: versions, databases, objects, timings, verification.' },
  history: { usage: `${SLASH_COMMAND} history <cluster>`, description: 'Past runs with their estimated and real downtime.' },
  schedule: {
    usage: `${SLASH_COMMAND} schedule <cluster> "<cron>" [time zone]`,
    description:
      'Back up a cluster on a schedule, e.g. `"0 3 * * *" Europe/Berlin` (the zone defaults to UTC); its users get a heads-up before each run. `schedule list` shows every schedule, `schedule remove <schedule-id>` removes one made in Slack.',
  },
  restore: {
    usage: `${SLASH_COMMAND} restore [cluster]`,
    description: 'Ask to restore a backup: a form for the backup, the target cluster and where the databases and objects go; the plan is posted for an approver, and nothing is restored until someone else approves it.',
  },
  drill: {
    usage: `${SLASH_COMMAND} drill <cluster> [backup-id]`,
    description: 'Prove a backup restores: restores it into scratch databases and a scratch prefix, checks every table and object, then removes the scratch. The cluster is not touched. Defaults to the newest complete backup.',
  },
  cancel: { usage: `${SLASH_COMMAND} cancel <run-id>`, description: 'Stop a run; whatever it changed is undone and the cluster is resumed.' },
} as const satisfies Record<string, CommandHelp>;

/** A subcommand name. */
export type Subcommand = keyof typeof COMMAND_HELP;

/** The `/pachbackup help` reply: every subcommand with its usage and a line on what it does. */
export function buildHelp(): SlackMessage {
  const lines = Object.values(COMMAND_HELP).map((c) => `${codeSpan(c.usage)}\n${escapeEntities(c.description)}`);
  return {
    text: messageText(`${SLASH_COMMAND} commands: ${Object.keys(COMMAND_HELP).join(', ')}`),
    blocks: [
      header('pachbackup: back up Pachyderm clusters'),
      section(lines.join('\n\n')),
      context(escapeEntities('`<…>` is required, `[…]` is optional. A backup pauses the cluster briefly; its users are told in advance for how long.')),
    ],
  };
}

/** A message already rendered: its mrkdwn (user and cluster parts escaped) and its plain-text fallback (escaped too). */
export interface RenderedText {
  mrkdwn: string;
  text: string;
}

/**
 * An error reply for a command typed wrong or refused: what was wrong (`message`) and what would be right (`next`).
 * Meant to be sent ephemerally — only the person who typed it sees it. A `next` that is a command line
 * (`/pachbackup backup <cluster>`) is shown as *Usage:* in code; anything else is advice in words, with the
 * commands it names marked by backticks (`ask one of its operators, or use \`/pachbackup list\``). Backticks in
 * either mark code; everything else is escaped, so `<cluster>` shows as typed.
 */
export function usageError(message: string | RenderedText, next: string): SlackMessage {
  const isCommand = next.startsWith('/') && !next.includes('`');
  const plain = (t: string) => t.replace(/`/g, '');
  const what = typeof message === 'string' ? { mrkdwn: markedCode(truncateText(message, 2000)), text: plain(message) } : message;
  return {
    text: messageText(`${typeof message === 'string' ? escapeMrkdwn(what.text) : what.text} — ${escapeMrkdwn(`${isCommand ? 'usage: ' : ''}${plain(next)}`)}`),
    blocks: [
      section(`❌ ${what.mrkdwn}\n${isCommand ? `*Usage:* ${codeSpan(next, 400)}` : `*What to do:* ${markedCode(truncateText(next, 400))}`}`),
      context(`\`${SLASH_COMMAND} help\` lists every command.`),
    ],
  };
}
