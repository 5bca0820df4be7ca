import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webApi } from '@slack/bolt';
import { SANDBOX_BOT_TOKEN, SANDBOX_IDS } from '../../../src/sandbox/slack-sim/seed.js';
import { startSlackSimulator, type SlackSimulator } from '../../../src/sandbox/slack-sim/server.js';
import type { SlackSnapshot } from '../../../src/sandbox/slack-sim/workspace.js';
import { TEST_SIGNING_SECRET } from './bolt-app.js';

const { alice, bob, dave, opsChannel, announceChannel } = SANDBOX_IDS;

/** The WebClient logs Slack's `[ERROR]` response messages; the refusals here are on purpose. */
const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => webApi.LogLevel.ERROR,
  setName: () => undefined,
};

function clientFor(sim: SlackSimulator, token = SANDBOX_BOT_TOKEN, options: webApi.WebClientOptions = {}): webApi.WebClient {
  return new webApi.WebClient(token, { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 }, logger: quiet, ...options });
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('the Slack simulator Web API, through @slack/web-api', () => {
  let sim: SlackSimulator;
  let client: webApi.WebClient;

  beforeEach(async () => {
    sim = await startSlackSimulator({ signingSecret: TEST_SIGNING_SECRET });
    client = clientFor(sim);
  });
  afterEach(async () => {
    await sim.close();
  });

  it('answers a bad token with invalid_auth and an unknown channel with channel_not_found', async () => {
    await expect(clientFor(sim, 'xoxb-wrong').auth.test()).rejects.toMatchObject({
      code: webApi.ErrorCode.PlatformError,
      data: { ok: false, error: 'invalid_auth' },
    });
    await expect(client.chat.postMessage({ channel: 'C0NOPE', text: 'hi' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    expect(await client.auth.test()).toMatchObject({ ok: true, user_id: SANDBOX_IDS.botUser, bot_id: SANDBOX_IDS.bot, team_id: SANDBOX_IDS.team });
    expect(sim.calls().map((c) => [c.method, c.error ?? 'ok'])).toEqual([
      ['auth.test', 'invalid_auth'],
      ['chat.postMessage', 'channel_not_found'],
      ['auth.test', 'ok'],
    ]);
  });

  it('refuses what Slack refuses: not_in_channel, no_text, invalid_blocks, msg_too_long, message_not_found, unknown_method', async () => {
    const error = (p: Promise<unknown>) => p.then(() => 'ok', (e: { data?: { error?: string } }) => e.data?.error);
    sim.workspace.setBotMembership(announceChannel, false);
    expect(await error(client.chat.postMessage({ channel: announceChannel, text: 'hi' }))).toBe('not_in_channel');
    expect(await error(client.chat.postMessage({ channel: opsChannel, text: '' }))).toBe('no_text');
    expect(await error(client.chat.postMessage({ channel: opsChannel, text: 'x', blocks: [{ type: 'sectionn' } as never] }))).toBe('invalid_blocks');
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect(await error(client.chat.postMessage({ channel: opsChannel, text: 'x', blocks: tooMany }))).toBe('invalid_blocks');
    expect(await error(client.chat.postMessage({ channel: opsChannel, text: 'x'.repeat(40_001) }))).toBe('msg_too_long');
    expect(await error(client.chat.update({ channel: opsChannel, ts: '1700000000.000001', text: 'x' }))).toBe('message_not_found');
    expect(await error(client.apiCall('chat.teleport', { channel: opsChannel }))).toBe('unknown_method');
    expect(await error(client.users.info({ user: 'U0NOBODY' }))).toBe('user_not_found');
    // Slack explains block errors with a JSON pointer.
    await expect(client.chat.postMessage({ channel: opsChannel, text: 'x', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '' } }] })).rejects.toMatchObject({
      data: { error: 'invalid_blocks', response_metadata: { messages: ['[ERROR] text must be more than 0 characters [json-pointer:/blocks/0/text/text]'] } },
    });
    expect(sim.snapshot().channels.flatMap((c) => c.messages)).toEqual([]);
  });

  it('posts by channel name, threads replies, broadcasts, and lists history and replies', async () => {
    const parent = await client.chat.postMessage({ channel: '#pachyderm-ops', text: 'Backup started', blocks: [section('*Backup* of prod')] });
    expect(parent).toMatchObject({ ok: true, channel: opsChannel, message: { text: 'Backup started', bot_id: SANDBOX_IDS.bot } });
    const ts = parent.ts ?? '';
    await client.chat.postMessage({ channel: opsChannel, thread_ts: ts, text: 'step 1 done' });
    await client.chat.postMessage({ channel: opsChannel, thread_ts: ts, text: 'all done', reply_broadcast: true });

    const history = await client.conversations.history({ channel: opsChannel });
    expect(history.messages?.map((m) => m.text)).toEqual(['all done', 'Backup started']);
    expect(history.messages?.[1]).toMatchObject({ reply_count: 2, thread_ts: ts });
    const replies = await client.conversations.replies({ channel: opsChannel, ts });
    expect(replies.messages?.map((m) => m.text)).toEqual(['Backup started', 'step 1 done', 'all done']);
    const link = await client.chat.getPermalink({ channel: opsChannel, message_ts: ts });
    expect(link.permalink).toBe(`https://pachyderm-sandbox.slack.com/archives/${opsChannel}/p${ts.replace('.', '')}`);

    // Timestamps are unique and increasing.
    const all = sim.snapshot().channels.find((c) => c.id === opsChannel)?.messages ?? [];
    expect(all.map((m) => m.ts)).toEqual([...all.map((m) => m.ts)].sort());
    expect(all[0]?.ts).toMatch(/^\d{10}\.\d{6}$/);
  });

  it('returns a user group’s members and the group list', async () => {
    expect((await client.usergroups.users.list({ usergroup: SANDBOX_IDS.platformGroup })).users).toEqual([alice, bob]);
    await expect(client.usergroups.users.list({ usergroup: 'S0NONE' })).rejects.toMatchObject({ data: { error: 'no_such_subteam' } });
    const groups = await client.usergroups.list({ include_users: true });
    expect(groups.usergroups).toEqual([expect.objectContaining({ id: SANDBOX_IDS.platformGroup, handle: 'platform', users: [alice, bob], user_count: 2 })]);
    expect((await client.users.info({ user: dave })).user).toMatchObject({ name: 'dave', tz: 'Asia/Kolkata', is_bot: false });
  });

  it('uploads a file with filesUploadV2 into a thread', async () => {
    const parent = await client.chat.postMessage({ channel: opsChannel, text: 'Backup bk-1 finished' });
    const content = 'step,seconds\npause,2\ndump,31\n';
    const result = await client.filesUploadV2({
      channel_id: opsChannel,
      thread_ts: parent.ts ?? '',
      filename: 'timings.csv',
      title: 'Step timings',
      content,
      initial_comment: 'Timings of bk-1',
    });
    expect(result.ok).toBe(true);
    expect(sim.calls().map((c) => c.method)).toEqual(['chat.postMessage', 'files.getUploadURLExternal', 'files.completeUploadExternal']);

    const reply = await sim.waitForMessage((m) => m.thread_ts === parent.ts && m.ts !== parent.ts);
    expect(reply.text).toBe('Timings of bk-1');
    expect(reply.files).toEqual([expect.objectContaining({ name: 'timings.csv', title: 'Step timings', size: Buffer.byteLength(content), preview: content })]);
    expect(sim.transcript()).toContain('(file: Step timings — timings.csv, 29 B)');
  });

  it('answers 429 with Retry-After once chat.update exceeds its per-channel limit', async () => {
    sim.webApi.setRateLimit('chat.update', { limit: 2, per: 'channel' });
    const posted = await client.chat.postMessage({ channel: opsChannel, text: 'progress 0%' });
    const other = await client.chat.postMessage({ channel: announceChannel, text: 'other channel' });
    const impatient = clientFor(sim, SANDBOX_BOT_TOKEN, { rejectRateLimitedCalls: true });
    await impatient.chat.update({ channel: opsChannel, ts: posted.ts ?? '', text: 'progress 10%' });
    await impatient.chat.update({ channel: opsChannel, ts: posted.ts ?? '', text: 'progress 20%' });
    await expect(impatient.chat.update({ channel: opsChannel, ts: posted.ts ?? '', text: 'progress 30%' })).rejects.toMatchObject({
      code: webApi.ErrorCode.RateLimitedError,
    });
    // Other channels have their own budget.
    await impatient.chat.update({ channel: announceChannel, ts: other.ts ?? '', text: 'still fine' });

    const raw = await fetch(`${sim.apiUrl}chat.update`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${SANDBOX_BOT_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: opsChannel, ts: posted.ts, text: 'progress 40%' }),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });
    expect(sim.snapshot().channels.find((c) => c.id === opsChannel)?.messages[0]).toMatchObject({ text: 'progress 20%', edit_count: 2 });
  });

  it('accepts JSON bodies and tokens in the form; GET /calls lists every call without tokens', async () => {
    const json = await fetch(`${sim.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${SANDBOX_BOT_TOKEN}`, 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: opsChannel, text: 'from JSON', blocks: [section('JSON *blocks*')] }),
    });
    expect(await json.json()).toMatchObject({ ok: true, channel: opsChannel, message: { blocks: [{ type: 'section' }] } });
    const form = await fetch(`${sim.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: SANDBOX_BOT_TOKEN, channel: opsChannel, text: 'from a form' }).toString(),
    });
    expect(await form.json()).toMatchObject({ ok: true });
    const missing = await fetch(`${sim.apiUrl}chat.postMessage`, { method: 'POST' });
    expect(await missing.json()).toEqual({ ok: false, error: 'not_authed' });

    const calls = (await (await fetch(sim.callsUrl)).json()) as { calls: { method: string; args: Record<string, unknown> }[] };
    expect(calls.calls.map((c) => c.method)).toEqual(['chat.postMessage', 'chat.postMessage', 'chat.postMessage']);
    expect(JSON.stringify(calls)).not.toContain(SANDBOX_BOT_TOKEN);
  });

  it('enforces trigger ids and view hashes like Slack', async () => {
    const modal = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Restore' }, blocks: [section('Pick a backup')] };
    await expect(client.views.open({ trigger_id: '123.456.abc', view: modal })).rejects.toMatchObject({ data: { error: 'invalid_trigger_id' } });

    const trigger = sim.workspace.issueTrigger({ user: alice, channel: opsChannel });
    const opened = await client.views.open({ trigger_id: trigger.id, view: modal });
    await expect(client.views.open({ trigger_id: trigger.id, view: modal })).rejects.toMatchObject({ data: { error: 'exchanged_trigger_id' } });

    const id = opened.view?.id ?? '';
    const hash = opened.view?.hash ?? '';
    const updated = await client.views.update({ view_id: id, hash, view: { ...modal, blocks: [section('Pick a newer backup')] } });
    expect(updated.view?.hash).not.toBe(hash);
    await expect(client.views.update({ view_id: id, hash, view: modal })).rejects.toMatchObject({ data: { error: 'hash_conflict' } });

    const state: SlackSnapshot = sim.snapshot();
    expect(state.views).toEqual([expect.objectContaining({ id, user: alice, open: true, revisions: 1 })]);
  });

  it('refuses a trigger id older than the configured lifetime with expired_trigger_id', async () => {
    const strict = await startSlackSimulator({ signingSecret: TEST_SIGNING_SECRET, triggerTtlMs: -1 });
    try {
      const trigger = strict.workspace.issueTrigger({ user: alice });
      const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Late' }, blocks: [] };
      await expect(clientFor(strict).views.open({ trigger_id: trigger.id, view })).rejects.toMatchObject({ data: { error: 'expired_trigger_id' } });
    } finally {
      await strict.close();
    }
  });
});
