import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { SANDBOX_IDS } from '../../../src/sandbox/slack-sim/seed.js';
import { startSlackSimulator, type SlackSimulator } from '../../../src/sandbox/slack-sim/server.js';
import { flattenMessages, type Block, type SlackSnapshot } from '../../../src/sandbox/slack-sim/workspace.js';
import { SLACK_MODES, startBoltApp, TEST_SIGNING_SECRET, type RunningBoltApp } from './bolt-app.js';

const { alice, bob, opsChannel } = SANDBOX_IDS;

/** A backup request message with Approve / Reject buttons, as an app would post it. */
function requestBlocks(requester: string, target: string): Block[] {
  return [
    { type: 'header', text: { type: 'plain_text', text: 'Backup requested' } },
    { type: 'section', text: { type: 'mrkdwn', text: `<@${requester}> asked for a backup of *${target}*` } },
    {
      type: 'actions',
      block_id: 'decision',
      elements: [
        { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: `approve:${target}` },
        { type: 'button', action_id: 'reject', text: { type: 'plain_text', text: 'Reject' }, style: 'danger', value: `reject:${target}` },
      ],
    },
  ];
}

/** The app under test: a /pachbackup command, buttons, a modal and a home tab — enough to exercise every path. */
function register(app: App, seen: { commands: string[]; clicks: string[] }): void {
  app.command('/pachbackup', async ({ ack, respond, command, client }) => {
    seen.commands.push(command.text);
    if (command.text === 'drill') {
      await ack({
        text: 'Run a restore drill?',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: 'Run a restore drill of *prod*?' } },
          { type: 'actions', elements: [{ type: 'button', action_id: 'confirm-drill', text: { type: 'plain_text', text: 'Start drill' }, value: 'prod' }] },
        ],
      });
      return;
    }
    await ack();
    if (command.text === 'drill') {
      return; // answered below, in the acknowledgement itself
    }
    if (command.text === 'restore') {
      await client.views.open({
        trigger_id: command.trigger_id,
        view: {
          type: 'modal',
          callback_id: 'restore',
          title: { type: 'plain_text', text: 'Restore' },
          submit: { type: 'plain_text', text: 'Plan restore' },
          blocks: [
            {
              type: 'input',
              block_id: 'backup',
              label: { type: 'plain_text', text: 'Backup id' },
              element: { type: 'plain_text_input', action_id: 'id' },
            },
          ],
        },
      });
      return;
    }
    await respond({ response_type: 'ephemeral', text: `Got it: backing up ${command.text}` });
    await client.chat.postMessage({ channel: opsChannel, text: `Backup of ${command.text} requested`, blocks: requestBlocks(command.user_id, command.text) });
  });

  app.action<BlockAction<ButtonAction>>('approve', async ({ ack, body, action, client }) => {
    await ack();
    seen.clicks.push(`${body.user.id}:${action.value ?? ''}`);
    const channel = body.channel?.id ?? '';
    const ts = body.message?.ts ?? '';
    await client.chat.update({
      channel,
      ts,
      text: 'Backup approved',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Backup requested' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `Approved by <@${body.user.id}>` }] },
      ],
    });
    await client.chat.postMessage({ channel, thread_ts: ts, text: `<@${body.user.id}> approved; starting.` });
  });

  app.action<BlockAction<ButtonAction>>('confirm-drill', async ({ ack, respond, action }) => {
    await ack();
    await respond({ replace_original: true, text: `Drill of ${action.value ?? ''} queued.` });
    await respond({ response_type: 'in_channel', text: 'A restore drill of prod starts now.' });
  });

  app.view('restore', async ({ ack, view, client, body }) => {
    const id = view.state.values.backup?.id?.value ?? '';
    if (!/^bk-\d+$/.test(id)) {
      await ack({ response_action: 'errors', errors: { backup: 'A backup id looks like bk-123' } });
      return;
    }
    await ack();
    await client.chat.postMessage({ channel: opsChannel, text: `<@${body.user.id}> planned a restore of ${id}` });
  });

  app.event('app_home_opened', async ({ event, client }) => {
    await client.views.publish({
      user_id: event.user,
      view: {
        type: 'home',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: `Hello <@${event.user}>, no backup is running.` } },
          { type: 'actions', elements: [{ type: 'button', action_id: 'refresh-home', text: { type: 'plain_text', text: 'Refresh' } }] },
        ],
      },
    });
  });

  app.action<BlockAction<ButtonAction>>('refresh-home', async ({ ack, body, client }) => {
    await ack();
    await client.views.publish({
      user_id: body.user.id,
      hash: body.view?.hash ?? '',
      view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Last backup: bk-41, 2 hours ago.' } }] },
    });
  });
}

async function getState(sim: SlackSimulator): Promise<SlackSnapshot> {
  const res = await fetch(sim.messagesUrl);
  expect(res.status).toBe(200);
  return (await res.json()) as SlackSnapshot;
}

describe.each(SLACK_MODES)('the Slack simulator with a real Bolt app (%s)', (mode) => {
  let sim: SlackSimulator;
  let bolt: RunningBoltApp;
  let seen: { commands: string[]; clicks: string[] };

  beforeEach(async () => {
    sim = await startSlackSimulator({ signingSecret: TEST_SIGNING_SECRET, socketMode: mode === 'socket' });
    seen = { commands: [], clicks: [] };
    bolt = await startBoltApp(sim, (app) => register(app, seen), mode);
  });

  afterEach(async () => {
    await bolt.stop();
    await sim.close();
  });

  it('delivers a signed slash command: the ephemeral answer and the channel message appear', async () => {
    const res = await sim.driver.slashCommand({ command: '/pachbackup', text: 'prod', userId: alice, channelId: opsChannel });
    expect(res.status).toBe(200);

    await sim.waitForMessage((m) => m.text === 'Backup of prod requested');
    await sim.waitForEphemeral((e) => e.text === 'Got it: backing up prod');

    const state = await getState(sim);
    const ops = state.channels.find((c) => c.id === opsChannel);
    expect(ops?.messages).toHaveLength(1);
    expect(ops?.messages[0]).toMatchObject({ author: 'pachbackup', bot_id: SANDBOX_IDS.bot, user: SANDBOX_IDS.botUser, edit_count: 0 });
    expect(state.ephemerals).toEqual([
      expect.objectContaining({ channel: opsChannel, user: alice, user_name: 'alice', text: 'Got it: backing up prod', source: 'response_url' }),
    ]);
    expect(seen.commands).toEqual(['prod']);
    // Bolt checked its token once with auth.test before handling anything (and, in Socket Mode, opened its connection).
    expect(sim.calls().map((c) => c.method)).toEqual(['auth.test', ...(mode === 'socket' ? ['apps.connections.open'] : []), 'response_url', 'chat.postMessage']);
  });

  it.runIf(mode === 'http')('refuses forged requests with 401 and never runs the handler', async () => {
    const forged = await sim.driver.slashCommand({ text: 'forged', userId: alice, channelId: opsChannel, forge: { signingSecret: 'not-the-secret' } });
    expect(forged.status).toBe(401);
    const stale = await sim.driver.slashCommand({
      text: 'stale',
      userId: alice,
      channelId: opsChannel,
      forge: { timestampSeconds: Math.floor(Date.now() / 1000) - 6 * 60 },
    });
    expect(stale.status).toBe(401);
    const unsigned = await sim.driver.slashCommand({ text: 'unsigned', userId: alice, channelId: opsChannel, forge: { unsigned: true } });
    expect(unsigned.status).toBe(401);

    // A genuine command afterwards is the only one the app ever handles.
    await sim.driver.slashCommand({ text: 'genuine', userId: alice, channelId: opsChannel });
    await sim.waitForMessage((m) => m.text === 'Backup of genuine requested');
    expect(seen.commands).toEqual(['genuine']);
    expect(flattenMessages(sim.snapshot())).toHaveLength(1);
  });

  it.runIf(mode === 'http')('replays a signed request byte for byte (Bolt accepts a replay within five minutes)', async () => {
    const first = await sim.driver.slashCommand({ text: 'twice', userId: alice, channelId: opsChannel });
    const again = await sim.driver.resend(first.request);
    expect(again.status).toBe(200);
    await sim.waitFor((s) => (flattenMessages(s).filter((m) => m.text === 'Backup of twice requested').length === 2 ? true : undefined));
    expect(seen.commands).toEqual(['twice', 'twice']);
  });

  it('delivers a button click to app.action, whose chat.update shows as an edit with a thread reply', async () => {
    await sim.driver.slashCommand({ text: 'prod', userId: alice, channelId: opsChannel });
    const request = await sim.waitForMessage((m) => m.text === 'Backup of prod requested');

    const click = await sim.driver.clickButton({ userId: bob, message: { channel: opsChannel, ts: request.ts }, actionId: 'approve' });
    expect(click.status).toBe(200);

    const edited = await sim.waitForMessage((m) => m.ts === request.ts && m.edit_count === 1 && m.reply_count === 1);
    expect(edited.text).toBe('Backup approved');
    expect(edited.edited?.user).toBe(SANDBOX_IDS.botUser);
    expect(edited.replies[0]?.text).toBe(`<@${bob}> approved; starting.`);
    // The value and block id came from the button as the message showed it.
    expect(seen.clicks).toEqual([`${bob}:approve:prod`]);

    const transcript = sim.transcript();
    expect(transcript).toContain('(edited)');
    expect(transcript).toContain('» @bob clicked [ Approve ]');
    expect(transcript).toContain('Approved by @bob');
  });

  it('shows an ack body as an ephemeral message; a click on it replaces it through the response URL', async () => {
    await sim.driver.slashCommand({ text: 'drill', userId: alice, channelId: opsChannel });
    const prompt = await sim.waitForEphemeral((e) => e.text === 'Run a restore drill?');
    expect(prompt).toMatchObject({ source: 'command_response', user: alice });
    expect(sim.transcript()).toContain('[ Start drill ]');

    await sim.driver.clickButton({ userId: alice, message: { channel: opsChannel, ts: prompt.ts }, actionId: 'confirm-drill' });
    await sim.waitForMessage((m) => m.text === 'A restore drill of prod starts now.');
    const replaced = await sim.waitForEphemeral((e) => e.id === prompt.id && e.edit_count === 1);
    expect(replaced.text).toBe('Drill of prod queued.');
    expect(replaced.blocks).toBeUndefined();
    expect(sim.snapshot().ephemerals).toHaveLength(1);
  });

  it('opens a modal with the command trigger, shows field errors, and closes it on a good submission', async () => {
    await sim.driver.slashCommand({ text: 'restore', userId: alice, channelId: opsChannel });
    const modal = await sim.waitFor((s) => s.views.find((v) => v.type === 'modal' && v.open && v.user === alice));
    expect(modal.callback_id).toBe('restore');

    const bad = await sim.driver.submitView({ userId: alice, viewId: modal.id, values: { backup: { id: 'yesterday' } } });
    expect(bad.outcome).toBe('errors');
    expect(sim.workspace.view(modal.id)).toMatchObject({ open: true, errors: { backup: 'A backup id looks like bk-123' } });

    const good = await sim.driver.submitView({ userId: alice, viewId: modal.id, values: { backup: { id: 'bk-42' } } });
    expect(good.outcome).toBe('close');
    expect(sim.workspace.view(modal.id)?.open).toBe(false);
    await sim.waitForMessage((m) => m.text === `<@${alice}> planned a restore of bk-42`);
  });

  it('sends app_home_opened; the published home tab is recorded, and a click in it reaches the app', async () => {
    const res = await sim.driver.openHome(alice);
    expect(res.status).toBe(200);
    const home = await sim.waitFor((s) => s.views.find((v) => v.type === 'home' && v.user === alice));
    expect(sim.transcript()).toContain('Hello @alice, no backup is running.');
    expect(sim.transcript()).toContain('[ Refresh ]');

    await sim.driver.clickButton({ userId: alice, viewId: home.id, actionId: 'refresh-home' });
    await sim.waitFor((s) => s.views.find((v) => v.id === home.id && v.revisions === 1));
    expect(sim.transcript()).toContain('Last backup: bk-41, 2 hours ago.');
  });
});
