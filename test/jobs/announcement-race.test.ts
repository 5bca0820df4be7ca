import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_PHASES } from '../../src/runner/run-phase.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { killStartedClis, startCli, type CliProcess } from '../support/cli-process.js';
import { ANNOUNCE, createSlackFixture, type SlackFixture } from '../support/slack-fixture.js';

const WORKER_ENV = { PACHBACKUP_JOB_LOCK_MS: '5000', PACHBACKUP_LOCK_TTL_MS: '10000' };

/**
 * A worker killed after Slack posted the users' announcement but before it learnt the message's ts (the Slack
 * simulator holds chat.postMessage's answer, so the kill lands in that window every time): the next worker must
 * find that announcement by its metadata and end it, not post a second one and leave the first saying "paused".
 */
describe('the users\' announcement when the worker dies as it posts it', () => {
  let f: SlackFixture;
  let worker: CliProcess;

  beforeAll(async () => {
    f = await createSlackFixture({ slackMode: 'http', worker: false, workerLockDurationMs: 4000, lockTtlMs: 6000, objects: 10, podDelayMs: 1000 });
    worker = startCli(['worker', '--config', f.configFile], WORKER_ENV);
  });
  afterAll(async () => {
    killStartedClis();
    await f?.cleanup();
  });

  it('is posted once and ends "back" after the next worker carries on', async () => {
    const hold = f.sim.holdAnswer(({ method, args }) => method === 'chat.postMessage' && args.channel === ANNOUNCE && args.thread_ts === undefined);
    const before = await f.replicas();
    const runId = await f.backupThroughSlack();
    await hold.reached; // Slack has the announcement; the worker has not heard back
    worker.kill();
    await worker.exited;
    hold.release();
    worker = startCli(['worker', '--config', f.configFile], WORKER_ENV); // Kubernetes starts another pod

    let run = await f.state.runs.getRun(runId);
    for (let i = 0; i < 1800 && !(run && FINAL_PHASES.includes(run.phase)); i++) {
      await sleep(100);
      run = await f.state.runs.getRun(runId);
    }
    expect(run?.phase, run?.error ?? '').toBe('succeeded');
    await f.finished(runId, 60_000);
    await expect.poll(() => f.messagesIn(ANNOUNCE).map((m) => m.text).join('\n'), { timeout: 15_000 }).toMatch(/is back/);
    const announcements = f.messagesIn(ANNOUNCE);
    expect(announcements.map((m) => m.text)).toHaveLength(1);
    expect(announcements[0]!.text).toMatch(/is back/);
    expect(await f.replicas()).toEqual(before);
  }, 240_000);
});
