import { once } from 'node:events';
import { App, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SANDBOX_APP_TOKEN, SANDBOX_BOT_TOKEN, SANDBOX_IDS } from '../../../src/sandbox/slack-sim/seed.js';
import { startSlackSimulator, type SlackSimulator } from '../../../src/sandbox/slack-sim/server.js';
import { startBoltApp, TEST_SIGNING_SECRET, type RunningBoltApp } from './bolt-app.js';

const { alice, opsChannel } = SANDBOX_IDS;

/** A Socket Mode client by hand, to do what Bolt never would: keep an envelope unacknowledged, reuse a URL. */
async function rawConnection(sim: SlackSimulator): Promise<{ ws: WebSocket; messages: Record<string, any>[]; next(type: string): Promise<Record<string, any>> }> {
  const { url } = (await new WebClient(SANDBOX_APP_TOKEN, { slackApiUrl: sim.apiUrl }).apps.connections.open()) as { url: string };
  const ws = new WebSocket(url);
  const messages: Record<string, any>[] = [];
  const waiting: { type: string; resolve: (m: Record<string, any>) => void }[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Record<string, any>;
    messages.push(message);
    const w = waiting.findIndex((x) => x.type === message.type);
    if (w >= 0) waiting.splice(w, 1)[0]!.resolve(message);
  });
  const next = (type: string) =>
    new Promise<Record<string, any>>((resolve) => {
      const seen = messages.find((m) => m.type === type && !(m as { taken?: boolean }).taken);
      if (seen) {
        (seen as { taken?: boolean }).taken = true;
        resolve(seen);
      } else waiting.push({ type, resolve: (m) => (((m as { taken?: boolean }).taken = true), resolve(m)) });
    });
  await once(ws, 'open');
  return { ws, messages, next };
}

/** Polls `condition` (socket state changes are not workspace changes, which `sim.waitFor` watches). */
async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('gave up waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Socket Mode in the Slack simulator', () => {
  let sim: SlackSimulator;
  let bolt: RunningBoltApp | undefined;
  const commands: string[] = [];
  const homes: string[] = [];

  beforeEach(async () => {
    sim = await startSlackSimulator({ signingSecret: TEST_SIGNING_SECRET, socketMode: true, socketModeTimings: { closeGraceMs: 2000 } });
    commands.length = 0;
    homes.length = 0;
  });
  afterEach(async () => {
    await bolt?.stop();
    bolt = undefined;
    await sim.close();
  });

  const startApp = async () =>
    (bolt = await startBoltApp(
      sim,
      (app) => {
        app.command('/pachbackup', async ({ ack, command }) => {
          commands.push(command.text);
          await ack(`got ${command.text}`);
        });
        app.event('app_home_opened', async ({ event }) => void homes.push(event.user));
      },
      'socket',
    ));

  it('opens connections only for the app-level token, each URL once', async () => {
    const open = (token: string) => new WebClient(token, { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 } }).apps.connections.open();
    await expect(open(SANDBOX_BOT_TOKEN)).rejects.toMatchObject({ data: { error: 'not_allowed_token_type' } });
    await expect(open('xapp-1-A0PACHBACKUP-0-not-the-token')).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    // ... and the app-level token opens nothing else.
    await expect(new WebClient(SANDBOX_APP_TOKEN, { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 } }).chat.postMessage({ channel: opsChannel, text: 'x' })).rejects.toMatchObject({
      data: { error: 'not_allowed_token_type' },
    });

    const { url } = (await open(SANDBOX_APP_TOKEN)) as { url: string };
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f]{32}&app_id=A0PACHBACKUP$/);
    const first = new WebSocket(url);
    const [hello] = (await once(first, 'message')) as [Buffer];
    expect(JSON.parse(hello.toString())).toMatchObject({ type: 'hello', num_connections: 1, connection_info: { app_id: SANDBOX_IDS.app } });
    const again = new WebSocket(url);
    const [error] = (await once(again, 'error')) as [Error];
    expect(error.message).toMatch(/401/);
    first.close();
  });

  it('refuses to start a Bolt app whose app-level token the workspace does not know', async () => {
    const app = new App({ token: SANDBOX_BOT_TOKEN, appToken: 'xapp-1-A0PACHBACKUP-0-wrong', socketMode: true, clientOptions: { slackApiUrl: sim.apiUrl }, logLevel: LogLevel.ERROR });
    await expect(app.start()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });

  it('sends commands and events as envelopes with their ids, and shows a command ack\'s payload as Slack would', async () => {
    await startApp();
    await sim.driver.slashCommand({ userId: alice, channelId: opsChannel, text: 'status' });
    await sim.driver.openHome(alice);
    await until(() => homes.length === 1);
    const log = sim.socketMode.log();
    const envelopes = log.filter((e) => e.event === 'envelope');
    expect(envelopes.map((e) => e.type)).toEqual(['slash_commands', 'events_api']);
    expect(new Set(envelopes.map((e) => e.envelope_id)).size).toBe(2);
    // Slack's slash command fields, and the ack's payload shown to the person as the HTTP answer would be.
    expect(envelopes[0]!.detail).toMatchObject({ command: '/pachbackup', text: 'status', user_id: alice, channel_id: opsChannel, response_url: expect.stringMatching(/\/response\//) });
    expect(log.find((e) => e.event === 'ack' && e.type === 'slash_commands')?.detail).toEqual({ text: 'got status' });
    expect(sim.snapshot().ephemerals.map((e) => e.text)).toContain('got status');
  });

  it('takes a response payload with the ack of a view submission, and ignores one on a click', async () => {
    const raw = await rawConnection(sim);
    await raw.next('hello');
    const submitted = sim.socketMode.deliver('interactive', { type: 'view_submission', view: { id: 'V1' } }, { timeoutMs: 5000 });
    const submission = await raw.next('interactive');
    expect(submission).toMatchObject({ type: 'interactive', accepts_response_payload: true, payload: { type: 'view_submission' } });
    raw.ws.send(JSON.stringify({ envelope_id: submission.envelope_id, payload: { response_action: 'errors', errors: { backup: 'pick one' } } }));
    expect(await submitted).toMatchObject({ outcome: 'acked', payload: { response_action: 'errors', errors: { backup: 'pick one' } } });

    const clicked = sim.socketMode.deliver('interactive', { type: 'block_actions', actions: [] }, { timeoutMs: 5000 });
    const click = await raw.next('interactive');
    expect(click).toMatchObject({ accepts_response_payload: false });
    raw.ws.send(JSON.stringify({ envelope_id: click.envelope_id, payload: { text: 'ignored' } }));
    const answer = await clicked;
    expect(answer.outcome).toBe('acked');
    expect('payload' in answer && answer.payload).toBeFalsy();
    raw.ws.close();
  });

  it('reconnects after refresh_requested and after a warning, and carries on', async () => {
    await startApp();
    await sim.driver.slashCommand({ userId: alice, channelId: opsChannel, text: 'before' });
    for (const reason of ['refresh_requested', 'warning'] as const) {
      expect(sim.socketMode.disconnect(reason)).toBe(1);
      await until(() => sim.socketMode.openConnections() === 0);
      await sim.socketMode.waitForConnections(1, 30_000); // @slack/socket-mode waits about 5 s, then reconnects
    }
    const after = await sim.driver.slashCommand({ userId: alice, channelId: opsChannel, text: 'after' });
    expect(after.status).toBe(200);
    expect(commands).toEqual(['before', 'after']);
    const events = sim.socketMode.log().map((e) => `${e.connection}:${e.event}`);
    expect(events.filter((e) => e.endsWith(':hello'))).toEqual(['1:hello', '2:hello', '3:hello']);
    expect(events).toContain('1:disconnect');
    expect(events).toContain('2:disconnect');
  }, 60_000);

  it('tells a person the command failed while the app has no connection, and delivers an event once it is back', async () => {
    await startApp();
    await bolt!.stop();
    bolt = undefined;
    const refused = await sim.driver.slashCommand({ userId: alice, channelId: opsChannel, text: 'nobody home' });
    expect(refused.status).toBe(503);
    expect(sim.snapshot().ephemerals.at(-1)).toMatchObject({ user: alice, text: '/pachbackup failed with the error "dispatch_failed"' });

    // An event waits for the app to connect, as Slack retries events.
    const home = sim.driver.openHome(alice);
    await startApp();
    expect((await home).status).toBe(200);
    expect(homes).toEqual([alice]);
  });

  it('sends an event again, with retry_attempt, when its connection closes before the ack', async () => {
    const first = await rawConnection(sim);
    await first.next('hello');
    const delivery = sim.socketMode.deliver('events_api', { type: 'event_callback', event: { type: 'app_home_opened', user: alice } }, { timeoutMs: 10_000 });
    const envelope = await first.next('events_api');
    expect(envelope).toMatchObject({ retry_attempt: 0, accepts_response_payload: false });
    first.ws.close(); // gone without acknowledging

    const second = await rawConnection(sim);
    const retried = await second.next('events_api');
    expect(retried).toMatchObject({ envelope_id: envelope.envelope_id, retry_attempt: 1, retry_reason: 'timeout' });
    second.ws.send(JSON.stringify({ envelope_id: retried.envelope_id }));
    expect((await delivery).outcome).toBe('acked');
    second.ws.close();
  });
});
