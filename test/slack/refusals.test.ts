import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_BOT_TOKEN } from '../../src/sandbox/slack-sim/seed.js';
import { ALICE, BOB, createSlackFixture, DAVE, OPS, type SlackFixture, slackModes } from '../support/slack-fixture.js';

const textOf = (m: { text?: string; blocks?: unknown[] }) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;

describe.each(slackModes())('what the Slack app refuses (%s)', (slackMode) => {
  let f: SlackFixture;
  let replicas: Record<string, number>;

  beforeAll(async () => {
    // No worker: anything that reached the queue would stay there, visible.
    f = await createSlackFixture({ slackMode, worker: false });
    replicas = await f.replicas();
  });
  afterAll(async () => f?.cleanup());

  /** Nothing was queued, no run was created, and the cluster runs as before. */
  async function expectNothingHappened() {
    expect(await f.jobCount()).toBe(0);
    expect(await f.state.runs.listRuns({ cluster: 'test' })).toEqual([]);
    expect(await f.replicas()).toEqual(replicas);
  }

  const badInput: [string, string, RegExp][] = [
    ['an unknown subcommand', 'frobnicate', /unknown subcommand `frobnicate`; expected one of help, status, backup/],
    ['an unknown cluster', 'backup nosuch', /unknown cluster `nosuch`; configured clusters: test/],
    ['a missing cluster', 'backup', /`backup` needs a cluster: one of test/],
    ['a missing backup id', 'show', /`show` needs a backup id/],
    ['an unknown option', 'backup test --force', /unknown option `--force`/],
    ['shell injection', 'backup test; rm -rf /', /`backup` takes one cluster/],
    ['a malformed id with injection', 'cancel $(reboot)', /is not a run id/],
    ['markup injection in a cluster name', 'backup <!channel>', /unknown cluster/],
    ['10 kB of text', `backup test --note "${'x'.repeat(10_000)}"`, /the command is 10\d{3} characters long; commands are at most 1000/],
    ['an unclosed quote', 'backup test --note "oops', /a quote is not closed/],
  ];
  for (const [what, text, message] of badInput) {
    it(`answers ${what} with the error and the right usage, privately, and does nothing`, async () => {
      const { answer, reply } = await f.command(ALICE, text);
      expect(answer.status).toBe(200);
      expect(reply.user).toBe(ALICE); // ephemeral: only the requester sees it
      expect(textOf(reply)).toMatch(message);
      expect(textOf(reply)).toMatch(/\/pachbackup/); // the usage
      expect(textOf(reply)).not.toMatch(/<!channel>|<https?:/); // nothing the user typed becomes a mention or link
      await expectNothingHappened();
    });
  }

  it('refuses a backup by someone who is not an operator, and audits the refusal', async () => {
    const { reply } = await f.command(DAVE, 'backup test');
    expect(textOf(reply)).toMatch(/not an operator of test/);
    await expectNothingHappened();
    const audit = await f.state.audit.list({ cluster: 'test' });
    expect(audit.some((e) => e.actor === DAVE && e.action === 'backup' && e.outcome === 'refused')).toBe(true);
  });

  it.runIf(slackMode === 'http')('refuses a forged signature and a stale timestamp with HTTP 401', async () => {
    const forged = await f.sim.driver.slashCommand({ userId: ALICE, channelId: OPS, text: 'backup test', forge: { signingSecret: 'not-the-secret' } });
    expect(forged.status).toBe(401);
    const stale = await f.sim.driver.slashCommand({ userId: ALICE, channelId: OPS, text: 'backup test', forge: { timestampSeconds: Math.floor(Date.now() / 1000) - 6 * 60 } });
    expect(stale.status).toBe(401);
    await expectNothingHappened();
  });

  it('refuses a tampered button value, someone else\'s confirmation, and a replayed click', async () => {
    const { reply } = await f.command(ALICE, 'backup test');
    const message = { channel: reply.channel, ts: reply.ts };

    await f.sim.driver.clickButton({ userId: ALICE, message, actionId: 'backup_confirm', value: 'deadbeef'.repeat(4) });
    await f.sim.waitForEphemeral((e) => e.user === ALICE && /unknown or has expired/.test(textOf(e)));

    // Bob cannot see Alice's confirmation; a copy of its button in a channel message stands for a value replayed elsewhere.
    const value = JSON.stringify(reply.blocks).match(/"value":"([0-9a-f]{32})"/)![1]!;
    const copy = await new WebClient(SANDBOX_BOT_TOKEN, { slackApiUrl: f.sim.apiUrl }).chat.postMessage({
      channel: OPS,
      text: 'copy',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'backup_confirm', text: { type: 'plain_text', text: 'Confirm' }, value }] }],
    });
    await f.sim.driver.clickButton({ userId: BOB, message: { channel: OPS, ts: copy.ts! }, actionId: 'backup_confirm' });
    await f.sim.waitForEphemeral((e) => e.user === BOB && /only the person who asked for this backup can confirm it/.test(textOf(e)));
    await expectNothingHappened();

    const click = await f.sim.driver.clickButton({ userId: ALICE, message, actionId: 'backup_confirm' });
    await f.sim.waitForEphemeral((e) => e.user === ALICE && /is queued/.test(e.text));
    // Over HTTP: the same signed request again, byte for byte, refused. In Socket Mode nobody else can send on the
    // app's connection; the same envelope again (as Slack retries) is acknowledged and refused by the app itself.
    const replay = await f.sim.driver.resend(click.request);
    expect(replay.status).toBe(slackMode === 'http' ? 401 : 200);
    const alreadyUsed = () => f.sim.snapshot().ephemerals.filter((e) => e.user === ALICE && /already used/.test(textOf(e))).length;
    if (slackMode === 'socket') await f.sim.waitFor(() => alreadyUsed() === 1 || undefined, { description: 'the replayed click refused' });
    const again = await f.sim.driver.clickButton({ userId: ALICE, message, actionId: 'backup_confirm', value }); // a second, genuinely signed click
    expect(again.status).toBe(200);
    await f.sim.waitFor(() => alreadyUsed() === (slackMode === 'socket' ? 2 : 1) || undefined, { description: 'the second click refused' });
    expect(await f.jobCount()).toBe(1); // two clicks and a replay, one backup
    const runs = await f.state.runs.listRuns({ cluster: 'test' });
    expect(runs).toHaveLength(1);

    // Cancelled while still queued (no worker here): removed from the queue, nothing touched.
    const { reply: cancelled } = await f.command(ALICE, `cancel ${runs[0]!.id}`);
    expect(textOf(cancelled)).toMatch(/before it started; nothing was touched/);
    expect((await f.state.runs.getRun(runs[0]!.id))?.phase).toBe('cancelled');
    expect(await f.replicas()).toEqual(replicas);
  });
});
