import { setTimeout as sleep } from 'node:timers/promises';
import { PachbackupError } from '../errors.js';
import { createLogger } from '../log.js';
import { demoRestore } from './demo-restore.js';
import { describeSandbox } from './describe-sandbox.js';
import { sandboxDown } from './sandbox-down.js';
import { SANDBOX } from './sandbox-config.js';
import { sandboxUp } from './sandbox-up.js';
import type { DatasetSize } from './seed/chunks.js';
import { createRemoteSlackDriver } from './slack-sim/remote-driver.js';
import type { SlackSnapshot } from './slack-sim/workspace.js';

const ALICE = SANDBOX.operators[0];

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new PachbackupError('timeout', `the sandbox demo gave up waiting for ${what}`, { hint: 'see .sandbox/logs/app.log and worker.log' });
    await sleep(250);
  }
}

const ephemeralsOf = (s: SlackSnapshot, user: string) => s.ephemerals.filter((e) => e.user === user);

/**
 * `npm run sandbox`: brings the whole system up on this machine, has an operator run `/pachbackup backup` in the
 * simulated Slack — the confirmation answered, the backup run by the worker against the sandbox's PostgreSQL,
 * s3rver and Kubernetes simulator — then damages the cluster and restores it in place through Slack with a
 * second person's approval (`demoRestore`), prints the ops channel and the users' announcements as a person
 * would read them, and takes everything down again. Exit code 0 only if both succeeded and the damage is undone.
 */
export async function runSandboxDemo(options: { dir: string; size: DatasetSize; slackMode?: 'socket' | 'http' }): Promise<void> {
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  const started = Date.now();
  console.log(`Starting the sandbox (${options.size})...`);
  const state = await sandboxUp({ dir: options.dir, size: options.size, logger, ...(options.slackMode ? { slackMode: options.slackMode } : {}) });
  try {
    console.log(`Up in ${((Date.now() - started) / 1000).toFixed(1)} s.\n\n${describeSandbox(state)}\n`);
    const slack = createRemoteSlackDriver(state.slack.apiUrl.replace(/\/api\/$/, ''));
    const command = `backup ${state.cluster} --note "sandbox demo"`;
    console.log(`@alice types in #pachyderm-ops: /pachbackup ${command}`);
    const seen = ephemeralsOf(await slack.snapshot(), ALICE).length;
    const answer = await slack.slashCommand({ text: command, userId: ALICE, channelId: state.slack.opsChannel });
    if (!answer.ok || answer.status !== 200) throw new PachbackupError('unavailable', `the app did not take the command: ${answer.error ?? answer.status}`);
    const confirmation = await waitFor('the confirmation', 30_000, async () => ephemeralsOf(await slack.snapshot(), ALICE)[seen]);
    console.log(`pachbackup asks @alice, privately: ${confirmation.text}`);
    console.log('@alice clicks [ Confirm backup ]\n');
    await slack.clickButton({ userId: ALICE, actionId: 'backup_confirm', message: { channel: confirmation.channel, ts: confirmation.ts } });
    const queued = await waitFor('the backup to be queued', 30_000, async () => {
      const e = ephemeralsOf(await slack.snapshot(), ALICE).find((x) => /is queued/.test(x.text));
      return e ? /Backup (\S+) of/.exec(e.text)?.[1] : undefined;
    });
    const summary = await waitFor(`backup ${queued} to finish`, 300_000, async () => {
      const ops = (await slack.snapshot()).channels.find((c) => c.id === state.slack.opsChannel);
      const run = ops?.messages.find((m) => m.text.includes(queued));
      return run?.replies.find((r) => r.text.includes(`Backup ${queued} of`));
    });
    if (!/complete/.test(summary.text)) {
      console.log(await slack.transcript());
      throw new PachbackupError('internal', `the sandbox backup did not succeed: ${summary.text}`);
    }
    console.log(`The backup ${queued} succeeded.`);
    const restored = await demoRestore({ state, slack, backupId: queued, waitFor });
    await sleep(500); // the last edits land right after the summary
    console.log(`\n${await slack.transcript()}`);
    // The transcript shows each message as it ended; the users' channel told a story on the way.
    const told = (await slack.calls()).filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.args.channel === state.slack.announceChannel && !c.args.thread_ts);
    console.log(`What #data-announcements showed, message by message and edit by edit:\n${told.map((c) => `  ${c.at.slice(11, 19)}  ${String(c.args.text).replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, '$1')}`).join('\n')}\n`);
    console.log(`The backup ${queued} succeeded. ${restored}\nTry it yourself: npx pachbackup sandbox up --detach`);
  } finally {
    const { stopped } = await sandboxDown(options.dir);
    console.log(`\nSandbox stopped (${stopped.join(', ')}); nothing left running.`);
  }
}
