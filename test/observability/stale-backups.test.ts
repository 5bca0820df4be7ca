import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import type { ClusterConfig } from '../../src/config/config.js';
import { createStaleBackupAlerter, findStaleClusters, staleThresholdSeconds, type ClusterWithAlerts } from '../../src/observability/stale-backups.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { createClustersSeen } from '../../src/state/clusters-seen.js';
import { SANDBOX_BOT_TOKEN, SANDBOX_IDS } from '../../src/sandbox/slack-sim/seed.js';
import { startSlackSimulator, type SlackSimulator } from '../../src/sandbox/slack-sim/server.js';
import type { MessageView } from '../../src/sandbox/slack-sim/workspace.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { services } from '../support/services.js';

const OPS = SANDBOX_IDS.opsChannel;
const HOUR = 3600 * 1000;

/**
 * The stale-backup alert end to end: the state database a real backup writes to, Redis remembering what was
 * alerted, and the Slack simulator receiving the posts over the Web API.
 */
describe('stale-backup alerts', () => {
  let f: PachydermFixture;
  let sim: SlackSimulator;
  let client: WebClient;
  let redis: Redis;
  let clock: Date;
  /** The fixture's cluster `test` (alerting #pachyderm-ops) and `quiet`, a cluster without an ops channel. */
  let config: PachydermFixture['config'];

  const alerter = (clusters = config) => createStaleBackupAlerter({ client, config: clusters, runs: f.state.runs, redis, log: quietLogger, now: () => clock, clustersSeen: createClustersSeen(f.state.pool) });
  const opsMessages = (): MessageView[] => sim.snapshot().channels.find((c) => c.id === OPS)?.messages ?? [];

  beforeAll(async () => {
    sim = await startSlackSimulator({ signingSecret: 'stale-backups-test-secret', rateLimits: {} });
    f = await createPachydermFixture({ objects: 20, editConfig: (raw) => void (raw.clusters.test.slack = { opsChannel: OPS }) });
    const quiet: ClusterConfig = { ...f.cluster, name: 'quiet', displayName: 'Quiet lab' };
    delete quiet.slack;
    config = { ...f.config, clusters: { ...f.config.clusters, quiet } };
    client = new WebClient(SANDBOX_BOT_TOKEN, { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 } });
    redis = new Redis(services().redisUrl, { lazyConnect: true });
    await redis.connect();
    clock = new Date();
  });
  afterAll(async () => {
    if (redis && f) {
      const keys = await redis.keys(`${f.config.redis.prefix}:stale-backup-alert:*`);
      if (keys.length) await redis.del(...keys);
    }
    redis?.disconnect();
    await sim?.close();
    await f?.cleanup();
  });

  it('finds the clusters that were never backed up, with the default threshold of 26 h', async () => {
    const stale = await findStaleClusters({ config, runs: f.state.runs, now: clock });
    expect(stale.map((s) => [s.cluster, s.lastGoodBackup, s.thresholdSeconds])).toEqual([
      ['test', undefined, 26 * 3600],
      ['quiet', undefined, 26 * 3600],
    ]);
    expect(staleThresholdSeconds({ ...f.cluster, alerts: { staleAfterHours: 8 } } satisfies ClusterWithAlerts)).toBe(8 * 3600);
  });

  it('does not alert a cluster first seen moments ago, before its interval for a first backup has passed', async () => {
    expect(await alerter().check()).toEqual([]);
    clock = new Date(clock.getTime() + 25 * HOUR);
    expect(await alerter().check()).toEqual([]);
    expect(opsMessages()).toHaveLength(0);
  });

  it('does not alert while a backup of the cluster is being taken', async () => {
    clock = new Date(clock.getTime() + 2 * HOUR);
    const running = await f.state.runs.createRun({ id: newBackupId('test'), kind: 'backup', cluster: 'test', requestedBy: 'test', phase: 'running' });
    expect(await alerter().check()).toEqual([]);
    expect(opsMessages()).toHaveLength(0);
    await f.state.runs.finishRun(running.id, { phase: 'failed', error: 'test', warnings: [] });
  });

  it('alerts the ops channel once, even when two processes check at the same time', async () => {
    const results = await Promise.all([alerter().check(), alerter().check()]);
    expect(results.flat()).toEqual([{ cluster: 'test', action: 'alerted', channel: OPS, ts: expect.any(String) }]);
    const messages = opsMessages();
    expect(messages).toHaveLength(1);
    expect(messages[0]!.text).toContain('*test* (`test`) has *no good backup* on record');
  });

  it('does not alert again for the same episode, from this process or a restarted one', async () => {
    const same = alerter();
    expect(await same.check()).toEqual([]);
    clock = new Date(clock.getTime() + 2 * HOUR);
    expect(await same.check()).toEqual([]);
    expect(await alerter().check()).toEqual([]);
    expect(opsMessages()).toHaveLength(1);
  });

  it('alerts again once the re-alert interval has passed', async () => {
    clock = new Date(clock.getTime() + 23 * HOUR);
    expect(await alerter().check()).toEqual([{ cluster: 'test', action: 'repeated', channel: OPS, ts: expect.any(String) }]);
    expect(opsMessages()).toHaveLength(2);
  });

  it('resolves the alert in its thread when a backup succeeds, and stays quiet while backups are recent', async () => {
    const result = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(result.status, result.error).toBe('succeeded');
    clock = new Date(Date.now() + HOUR);
    const [resolved, ...rest] = await alerter().check();
    expect(rest).toEqual([]);
    expect(resolved).toMatchObject({ cluster: 'test', action: 'resolved', channel: OPS });
    const lastAlert = opsMessages().at(-1)!;
    expect(lastAlert.replies.map((r) => r.text)).toEqual([expect.stringContaining(`✅ Resolved: *test* (\`test\`) has a good backup again, \`${result.id}\``)]);
    expect(await alerter().check()).toEqual([]);
    expect(opsMessages()).toHaveLength(2);
    expect((await findStaleClusters({ config, runs: f.state.runs, now: clock })).map((s) => s.cluster)).toEqual(['quiet']);
  });

  it('starts a new episode when the last good backup gets too old, naming it', async () => {
    const [last] = await f.state.runs.listRuns({ cluster: 'test', kind: 'backup', limit: 1 });
    clock = new Date(last!.finishedAt!.getTime() + 27 * HOUR);
    expect(await alerter().check()).toEqual([{ cluster: 'test', action: 'alerted', channel: OPS, ts: expect.any(String) }]);
    const alert = opsMessages().at(-1)!;
    expect(alert.text).toContain('No good backup of *test* (`test`) for *27 h*');
    expect(JSON.stringify(alert.blocks)).toContain(`\`${last!.id}\``);
  });

  it('tries again at the next check when Slack refuses the post', async () => {
    clock = new Date(clock.getTime() + 25 * HOUR);
    const before = opsMessages().length;
    sim.webApi.failNext({ method: 'chat.postMessage', error: 'internal_error' });
    expect(await alerter().check()).toEqual([]);
    expect(opsMessages()).toHaveLength(before);
    expect(await alerter().check()).toEqual([{ cluster: 'test', action: 'repeated', channel: OPS, ts: expect.any(String) }]);
    expect(opsMessages()).toHaveLength(before + 1);
  });

  it('never posts for a cluster without an ops channel', () => {
    const posted = sim.calls().filter((c) => c.method === 'chat.postMessage');
    expect(posted.length).toBeGreaterThan(0);
    expect(posted.every((c) => c.args.channel === OPS)).toBe(true);
    expect(opsMessages().every((m) => !m.text.includes('quiet'))).toBe(true);
  });

  it('posts one summary per channel when 41 clusters are found stale at once', async () => {
    const names = Array.from({ length: 41 }, (_, i) => `burst-${i}`);
    const clusters = Object.fromEntries(names.map((name) => [name, { ...f.cluster, name, displayName: `Burst lab ${name.slice(6)}`, slack: { opsChannel: OPS } }]));
    const burstConfig = { ...f.config, clusters };
    clock = new Date(clock.getTime() + HOUR);
    await createClustersSeen(f.state.pool).firstSeen(names, new Date(clock.getTime() - 30 * HOUR));
    const before = sim.calls().filter((c) => c.method === 'chat.postMessage').length;
    const alerted = await alerter(burstConfig).check();
    expect(alerted.map((a) => a.cluster).sort()).toEqual([...names].sort());
    expect(new Set(alerted.map((a) => a.ts)).size).toBe(1);
    expect(sim.calls().filter((c) => c.method === 'chat.postMessage').length).toBe(before + 1);
    const summary = opsMessages().at(-1)!;
    expect(summary.text).toMatch(/^⚠️ 41 clusters have no recent good backup: /);
    const shown = JSON.stringify(summary.blocks);
    for (const name of names) expect(shown).toContain(`(\`${name}\`): no good backup on record`);
    expect(await alerter(burstConfig).check()).toEqual([]);
  });
});
