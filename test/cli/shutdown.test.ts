import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlackFixture, type SlackFixture } from '../support/slack-fixture.js';
import { killStartedClis, startCli } from '../support/cli-process.js';

let fixture: SlackFixture;
beforeAll(async () => {
  fixture = await createSlackFixture({ worker: false, objects: 5 });
});
afterEach(() => killStartedClis());
afterAll(async () => {
  await fixture?.cleanup();
});

describe('pachbackup serve and worker on SIGTERM', () => {
  it('exit 0 within 5 s when idle, each saying it takes no new work', async () => {
    const app = startCli(['serve', '--config', fixture.configFile]);
    const worker = startCli(['worker', '--config', fixture.configFile]);
    await Promise.all([app.waitForLine(/pachbackup is serving Slack/), worker.waitForLine(/pachbackup worker is running/)]);

    const sent = Date.now();
    app.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    const [appExit, workerExit] = await Promise.all([app.exited, worker.exited]);

    expect(appExit).toMatchObject({ code: 0, signal: null });
    expect(workerExit).toMatchObject({ code: 0, signal: null });
    // The deadline is the feature (Kubernetes' grace period): a generous bound, far under the 25 s default grace.
    expect(appExit.at - sent).toBeLessThan(5000);
    expect(workerExit.at - sent).toBeLessThan(5000);
    for (const p of [app, worker]) {
      expect(p.lines.some((l) => l.includes('taking no new work'))).toBe(true);
      expect(p.lines.some((l) => l.includes('handles still open'))).toBe(false);
    }
  }, 120_000);

  it('exit 0 within 5 s on SIGINT too (Ctrl-C in a terminal), the worker in the app process included', async () => {
    const app = startCli(['serve', '--with-worker', '--config', fixture.configFile]);
    await app.waitForLine(/pachbackup is serving Slack/);
    const sent = Date.now();
    app.child.kill('SIGINT');
    const exit = await app.exited;
    expect(exit, app.lines.slice(-5).join('\n')).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sent).toBeLessThan(5000);
  }, 120_000);
});
