import { SLASH_COMMAND } from '../slack-ids.js';
import { type SlackMessage, context, header, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn } from './mrkdwn.js';

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
  list: { usage: `${SLASH_COMMAND} list <cluster>`, description: 'The complete backups of a cluster, newest first.' },
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
  const lines = Object.values(COMMAND_HELP).map((c) => `\`${escapeMrkdwn(c.usage)}\`\n${escapeMrkdwn(c.description)}`);
  return {
    text: messageText(`${SLASH_COMMAND} commands: ${Object.keys(COMMAND_HELP).join(', ')}`),
    blocks: [
      header('pachbackup: back up Pachyderm clusters'),
      section(lines.join('\n\n')),
      context(escapeMrkdwn('`<…>` is required, `[…]` is optional. A backup pauses the cluster briefly; its users are told in advance for how long.')),
    ],
  };
}

/**
 * An error reply for a command typed wrong or refused: what was wrong (`message`) and what would be right
 * (`usage`, usually a command line). Meant to be sent ephemerally — only the person who typed it sees it.
 * Both are escaped, so `<cluster>` shows as typed.
 */
export function usageError(message: string, usage: string): SlackMessage {
  return {
    text: messageText(escapeMrkdwn(`${message} — usage: ${usage}`)),
    blocks: [section(`❌ ${escapeAndTruncate(message, 2500)}\n*Usage:* \`${escapeAndTruncate(usage, 400)}\``), context(`\`${SLASH_COMMAND} help\` lists every command.`)],
  };
}
