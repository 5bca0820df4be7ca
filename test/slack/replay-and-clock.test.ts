import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../../src/cli/serve-commands.js';
import { quietLogger } from '../support/pachyderm-fixture.js';
import { ALICE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

/**
 * A signed request is good for one delivery: whoever captures one (a proxy log, a compromised laptop, a
 * mis-pointed request URL) must not be able to send it again, and a timestamp from the future must not stretch
 * its five minutes.
 */
describe('signed Slack requests: replays and clocks (HTTP mode)', () => {
  let f: SlackFixture;

  beforeAll(async () => {
    // No worker: every queued drill stays in the queue, countable.
    f = await createSlackFixture({ slackMode: 'http', worker: false });
  });
  afterAll(async () => f?.cleanup());

  const drillJobs = async () => (await f.queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'])).filter((j) => j?.name === 'drill');

  it('queues one drill for the same signed request sent three times, and answers the copies 401', async () => {
    const first = await f.sim.driver.slashCommand({ userId: ALICE, channelId: OPS, text: 'drill test' });
    expect(first.status).toBe(200);
    await f.sim.waitForEphemeral((e) => e.user === ALICE && /Drill \S+ of test is queued/.test(e.text ?? ''), { description: 'the queued drill' });
    const second = await f.sim.driver.resend(first.request);
    const third = await f.sim.driver.resend(first.request);
    expect([second.status, third.status]).toEqual([401, 401]);
    expect(await drillJobs()).toHaveLength(1);
    const audit = await f.state.audit.list({ cluster: 'test' });
    expect(audit.filter((a) => a.action === 'drill' && a.outcome === 'requested')).toHaveLength(1);
  });

  it('refuses a request signed with a timestamp more than five minutes ahead', async () => {
    const before = (await drillJobs()).length;
    const future = await f.sim.driver.slashCommand({ userId: ALICE, channelId: OPS, text: 'drill test', forge: { timestampSeconds: Math.floor(Date.now() / 1000) + 6 * 60 } });
    expect(future.status).toBe(401);
    const stale = await f.sim.driver.slashCommand({ userId: ALICE, channelId: OPS, text: 'drill test', forge: { timestampSeconds: Math.floor(Date.now() / 1000) - 6 * 60 } });
    expect(stale.status).toBe(401);
    expect(await drillJobs()).toHaveLength(before);
  });

  it('still accepts a request within a small clock skew either way', async () => {
    const ahead = await f.sim.driver.slashCommand({ userId: ALICE, channelId: OPS, text: 'help', forge: { timestampSeconds: Math.floor(Date.now() / 1000) + 60 } });
    expect(ahead.status).toBe(200);
    const behind = await f.sim.driver.slashCommand({ userId: ALICE, channelId: OPS, text: 'help', forge: { timestampSeconds: Math.floor(Date.now() / 1000) - 60 } });
    expect(behind.status).toBe(200);
  });

  it('refuses the replay at another app replica: what was seen is shared through Redis', async () => {
    const replica = await serve(f.config, f.state, quietLogger, { withWorker: false, fallbackZone: 'UTC', host: '127.0.0.1' });
    try {
      // The first test's drill still waits (no worker), and a cluster takes one drill at a time: clear the queue.
      await f.queue.drain();
      const before = (await drillJobs()).length;
      const seen = new Set(f.sim.snapshot().ephemerals.map((e) => e.id));
      const first = await f.sim.driver.slashCommand({ userId: ALICE, channelId: OPS, text: 'drill test' });
      expect(first.status).toBe(200);
      await f.sim.waitForEphemeral((e) => !seen.has(e.id) && /is queued/.test(e.text ?? ''), { description: 'the queued drill' });
      const atReplica = await f.sim.driver.resend({ ...first.request, url: `http://127.0.0.1:${replica.port}/slack/events` });
      expect(atReplica.status).toBe(401);
      expect(await drillJobs()).toHaveLength(before + 1);
    } finally {
      await replica.stop();
    }
  });
});
