import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { WebClient } from '@slack/web-api';
import { serve } from '../../src/cli/serve-commands.js';
import { startReportingWorker } from '../../src/cli/start-reporting-worker.js';
import type { Logger } from '../../src/log.js';
import { operationsQueueName } from '../../src/jobs/operations-queue.js';
import { SANDBOX_APP_TOKEN, SANDBOX_BOT_TOKEN } from '../../src/sandbox/slack-sim/seed.js';
import { startSlackSimulator, type SlackSimulator } from '../../src/sandbox/slack-sim/server.js';
import type { MessageView } from '../../src/sandbox/slack-sim/workspace.js';
import { createPachydermFixture, quietLogger } from './pachyderm-fixture.js';

export const SIGNING_SECRET = 'slack-fixture-signing-secret-0123';
/** The sandbox workspace's people and channels. */
export const ALICE = 'U0OPS1';
export const BOB = 'U0OPS2';
export const DAVE = 'U0USER1';
export const OPS = 'C0OPS';
export const ANNOUNCE = 'C0ANNOUNCE';

/** How the app receives what people do: Socket Mode (what `manifest.yml` turns on), or HTTP with signed requests. */
export type SlackMode = 'socket' | 'http';

/**
 * The modes the end-to-end Slack tests run in: both, unless `PACHBACKUP_TEST_SLACK_MODES` names fewer
 * (`socket` or `http`, comma-separated) for a quicker local run. Use with `describe.each(slackModes())`.
 */
export function slackModes(env: NodeJS.ProcessEnv = process.env): SlackMode[] {
  const wanted = (env.PACHBACKUP_TEST_SLACK_MODES ?? 'socket,http').split(',').map((m) => m.trim());
  const modes = (['socket', 'http'] as const).filter((m) => wanted.includes(m));
  if (modes.length === 0) throw new Error(`PACHBACKUP_TEST_SLACK_MODES=${env.PACHBACKUP_TEST_SLACK_MODES} names no mode; use socket, http or both`);
  return modes;
}

/**
 * A Pachyderm cluster (see pachyderm-fixture) with the whole bot around it: the Slack simulator, the real Bolt
 * app on loopback — in Socket Mode (default) or over HTTP — and a worker in this process: the production code
 * paths, with Slack simulated. The same test body runs in either mode; only what one mode has (signatures,
 * replays of signed requests) needs a mode of its own.
 */
export async function createSlackFixture(
  options: {
    slackMode?: SlackMode;
    podDelayMs?: number;
    objects?: number;
    worker?: boolean;
    workerLockDurationMs?: number;
    helmValues?: Record<string, unknown>;
    /** The logger of the app and worker (default: silent). */
    log?: Logger;
    editConfig?: (config: Record<string, any>, dir: string) => void;
  } & Pick<Parameters<typeof createPachydermFixture>[0] & object, 'redisUrl' | 's3Endpoint' | 'lockTtlMs' | 'pauseTimeoutSeconds' | 'resumeTimeoutSeconds'> = {},
) {
  const slackMode = options.slackMode ?? 'socket';
  const sim: SlackSimulator = await startSlackSimulator({ signingSecret: SIGNING_SECRET, socketMode: slackMode === 'socket' });
  const { podDelayMs, objects, worker: _worker, workerLockDurationMs: _lock, editConfig: _edit, slackMode: _mode, log: _log, ...services } = options;
  const f = await createPachydermFixture({
    ...services,
    ...(podDelayMs !== undefined ? { podDelayMs } : {}),
    ...(objects !== undefined ? { objects } : {}),
    editConfig: (config, dir) => {
      writeFileSync(join(dir, 'bot-token'), `${SANDBOX_BOT_TOKEN}\n`);
      writeFileSync(join(dir, 'signing-secret'), `${SIGNING_SECRET}\n`);
      config.slack = { botToken: { file: join(dir, 'bot-token') }, signingSecret: { file: join(dir, 'signing-secret') }, apiUrl: sim.apiUrl, port: 0 };
      if (slackMode === 'socket') {
        writeFileSync(join(dir, 'app-token'), `${SANDBOX_APP_TOKEN}\n`);
        config.slack.appToken = { file: join(dir, 'app-token') };
      }
      config.clusters.test.slack = { opsChannel: OPS, announceChannel: ANNOUNCE };
      config.clusters.test.access = { operators: { users: [ALICE], groups: ['S0PLATFORM'] }, approvers: { users: ['U0APR1'] } };
      options.editConfig?.(config, dir);
    },
  });
  const running = await serve(f.config, f.state, options.log ?? quietLogger, {
    withWorker: options.worker ?? true,
    fallbackZone: 'UTC',
    host: '127.0.0.1',
    ...(options.workerLockDurationMs ? { workerLockDurationMs: options.workerLockDurationMs } : {}),
  });
  if (slackMode === 'http') sim.setAppEventsUrl(`http://127.0.0.1:${running.port}/slack/events`);
  const queueConnection = f.state.redis.duplicate();
  const queue = new Queue(operationsQueueName(f.config.redis.prefix), { connection: queueConnection });

  const messagesIn = (channel: string): MessageView[] => sim.snapshot().channels.find((c) => c.id === channel)?.messages ?? [];
  return {
    ...f,
    slackMode,
    sim,
    queue,
    /** Backup jobs ever queued (any state); housekeeping jobs are not counted. */
    async jobCount(): Promise<number> {
      const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
      return jobs.filter((j) => j?.name === 'backup').length;
    },
    messagesIn,
    /** The last ephemeral message `user` sees. */
    lastEphemeral(user: string) {
      return sim.snapshot().ephemerals.filter((e) => e.user === user).at(-1);
    },
    async command(user: string, text: string) {
      const seen = new Set(sim.snapshot().ephemerals.map((e) => e.id));
      const answer = await sim.driver.slashCommand({ userId: user, channelId: OPS, text });
      const reply = await sim.waitForEphemeral((e) => e.user === user && !seen.has(e.id), { description: `an answer to "${text.slice(0, 40)}"` });
      return { answer, reply };
    },
    /** Requests and confirms a backup as `user`; resolves with the run id once it is queued. */
    async backupThroughSlack(user = ALICE, text = 'backup test') {
      const { reply } = await this.command(user, text);
      const seen = new Set(sim.snapshot().ephemerals.map((e) => e.id));
      await sim.driver.clickButton({ userId: user, message: { channel: reply.channel, ts: reply.ts }, actionId: 'backup_confirm' });
      // The notice replaces the confirmation (or comes anew); a notice of an earlier backup by the same user is not this one's.
      const queued = await sim.waitForEphemeral((e) => e.user === user && (e.id === reply.id || !seen.has(e.id)) && /is queued/.test(e.text ?? ''), { description: 'the queued notice' });
      return /Backup (\S+) of/.exec(queued.text ?? '')![1]!;
    },
    /**
     * Opens the restore modal as `user` (`/pachbackup <text>` typed in `channel`) and waits until the backups replaced
     * the loading view; resolves with the modal's id and both views as JSON.
     */
    async openRestoreModal(user: string, text = 'restore test', channel = OPS) {
      const since = sim.calls().at(-1)?.seq ?? 0;
      await sim.driver.slashCommand({ userId: user, channelId: channel, text });
      const open = await sim.waitForCall((c) => c.method === 'views.open' && c.seq > since, { description: 'the restore modal' });
      const update = await sim.waitForCall((c) => c.method === 'views.update' && c.seq > open.seq, { timeoutMs: 30_000, description: 'the modal with the backups' });
      const viewOf = (args: Record<string, unknown>) => JSON.stringify(typeof args.view === 'string' ? JSON.parse(args.view) : args.view);
      return { viewId: sim.workspace.modalStack(user).at(-1)!.id, loading: viewOf(open.args), full: viewOf(update.args), updated: update };
    },
    /**
     * Asks as `user` for a restore with the modal's `values` (block id → action id → value); resolves with the plan
     * message posted in `planChannel` and the request's id.
     */
    async requestRestore(user: string, values: Record<string, Record<string, unknown>>, options: { text?: string; channel?: string; planChannel?: string } = {}) {
      const { viewId } = await this.openRestoreModal(user, options.text, options.channel);
      const planChannel = options.planChannel ?? OPS;
      const seen = new Set(messagesIn(planChannel).map((m) => m.ts));
      const submitted = await sim.driver.submitView({ userId: user, viewId, values });
      if (submitted.outcome !== 'close') throw new Error(`the restore form was not accepted: ${JSON.stringify(submitted.json)}`);
      const message = await sim.waitForMessage((m) => m.channel === planChannel && !seen.has(m.ts) && /Restore request \S+:/.test(m.text ?? ''), { timeoutMs: 60_000, description: 'the restore plan' });
      return { message, requestId: /Restore request (\S+):/.exec(message.text)![1]! };
    },
    /** A worker in this process reporting to the simulator (for tests whose first worker was a process they killed). */
    reportingWorker(lockDurationMs = 2000) {
      return startReportingWorker({ config: f.config, state: f.state, log: quietLogger, slack: new WebClient(SANDBOX_BOT_TOKEN, { slackApiUrl: sim.apiUrl }), lockDurationMs });
    },
    /** Waits until the worker finished the run and posted its summary. */
    async finished(runId: string, timeoutMs = 60_000) {
      // The summary reply: "<badge> Backup <id> of <cluster> <outcome>".
      return sim.waitForMessage((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && (m.text ?? '').includes(`Backup ${runId} of`), {
        timeoutMs,
        description: `the summary of ${runId}`,
      });
    },
    async cleanup() {
      await queue.close();
      queueConnection.disconnect();
      await running.stop();
      await sim.close();
      await f.cleanup();
    },
  };
}

export type SlackFixture = Awaited<ReturnType<typeof createSlackFixture>>;
