import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

/** Polls `condition` (socket state is not workspace state, which `sim.waitFor` watches). */
async function until(condition: () => boolean, description: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${description}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('pachbackup serve in Socket Mode (as manifest.yml sets it up)', () => {
  let f: SlackFixture;

  beforeAll(async () => {
    f = await createSlackFixture({ slackMode: 'socket', worker: false });
  });
  afterAll(async () => f?.cleanup());

  it('connects with its app-level token and listens on no port for Slack', async () => {
    expect(f.sim.socketMode.openConnections()).toBe(1);
    expect(f.sim.calls().some((c) => c.method === 'apps.connections.open')).toBe(true);
    const { answer, reply } = await f.command(ALICE, 'help');
    expect(answer.status).toBe(200);
    expect(reply.text).toMatch(/\/pachbackup/);
    // The command reached the app as an envelope, and the app acknowledged that very envelope.
    const log = f.sim.socketMode.log();
    const envelope = log.filter((e) => e.event === 'envelope' && e.type === 'slash_commands').at(-1)!;
    expect(log.some((e) => e.event === 'ack' && e.envelope_id === envelope.envelope_id)).toBe(true);
  });

  it('reconnects when Slack asks it to refresh its connection, and goes on answering', async () => {
    const opened = () => f.sim.socketMode.log().filter((e) => e.event === 'hello').length;
    const before = opened();
    expect(f.sim.socketMode.disconnect('refresh_requested')).toBe(1);
    await until(() => opened() > before && f.sim.socketMode.openConnections() === 1, 'a new connection after refresh_requested');
    const { reply } = await f.command(ALICE, 'status test');
    expect(reply.text).toMatch(/test/);
  }, 60_000);

  it('picks the connection up again when Slack drops it without warning', async () => {
    const opened = () => f.sim.socketMode.log().filter((e) => e.event === 'hello').length;
    const before = opened();
    expect(f.sim.socketMode.cut()).toBe(1); // a network failure: no close frame, no warning
    await until(() => opened() > before && f.sim.socketMode.openConnections() === 1, 'a new connection after the old one was cut');
    const { answer } = await f.command(ALICE, 'help');
    expect(answer.status).toBe(200);
    expect(f.lastEphemeral(ALICE)?.channel).toBe(OPS);
  }, 60_000);
});
