import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalText } from '../../src/cli/terminal-text.js';
import { runCli } from '../support/run-cli.js';
import { ALICE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

/** What a person reads, with every number made the same: an age or a duration may tick between two asks. */
const words = (text: string) => text.replace(/\d+(\.\d+)?/g, 'N').trim();

/**
 * The CLI's on-call commands (`status`, `estimate`, `history`, `cancel`, `schedule list`) run as a process against
 * the same services as the Slack app — PostgreSQL, Redis, s3rver, the Kubernetes simulator — and say what the Slack
 * command says.
 */
// Every test runs the CLI as a process a few times: generous timeouts for a loaded machine.
describe('the CLI twin of the Slack commands', { timeout: 240_000 }, () => {
  let f: SlackFixture;
  let backupId: string;
  const cli = (...args: string[]) => runCli([...args, '--config', f.configFile]);
  /** The Slack answer to `/pachbackup <text>` as the terminal would show it. */
  const inSlack = async (text: string) => {
    const { reply } = await f.command(ALICE, text);
    return terminalText({ text: reply.text ?? '', blocks: (reply.blocks ?? []) as never });
  };

  beforeAll(async () => {
    // No worker: a backup confirmed in Slack stays queued, for `cancel`. A second cluster whose Kubernetes API is
    // gone, for `status`.
    f = await createSlackFixture({
      worker: false,
      editConfig: (config, dir) => {
        config.clusters.test.schedules = [{ cron: '0 3 * * *', timezone: 'Europe/Berlin', headsUpMinutes: 30 }];
        const gone = join(dir, 'kubeconfig-gone');
        writeFileSync(gone, readFileSync(config.clusters.test.kubernetes.kubeconfig, 'utf8').replace(/(server: \S+:)\d+/, '$19'));
        config.clusters.gone = { ...config.clusters.test, displayName: 'Gone cluster', kubernetes: { ...config.clusters.test.kubernetes, kubeconfig: gone }, schedules: [] };
      },
    });
    const backup = await cli('backup', '--cluster', 'test', '--json');
    expect(backup.code, backup.stderr).toBe(0);
    backupId = (JSON.parse(backup.stdout) as { id: string }).id;
  }, 180_000);
  afterAll(async () => f?.cleanup());

  it('status: says what Slack says, exits 0 for a healthy cluster and 3 when one cannot be reached', async () => {
    const one = await cli('status', '--cluster', 'test');
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain(backupId);
    expect(words(one.stdout)).toBe(words(await inSlack('status test')));

    const all = await cli('status');
    expect(all.code).toBe(3);
    expect(all.stdout).toMatch(/Gone cluster[\s\S]*unreachable/i);
    const json = JSON.parse((await cli('status', '--json')).stdout) as { name: string; reachable: boolean; lastGoodBackup?: { id: string } }[];
    expect(json.map((c) => [c.name, c.reachable])).toEqual([
      ['test', true],
      ['gone', false],
    ]);
    expect(json[0]!.lastGoodBackup?.id).toBe(backupId);
  });

  it('estimate: the same estimate, step by step, as text or JSON', async () => {
    const text = await cli('estimate', '--cluster', 'test');
    expect(text.code, text.stderr).toBe(0);
    expect(words(text.stdout)).toBe(words(await inSlack('estimate test')));
    const { estimate } = JSON.parse((await cli('estimate', '--cluster', 'test', '--json')).stdout) as { estimate: { expectedSeconds: number; perStep: unknown[] } };
    expect(estimate.expectedSeconds).toBeGreaterThan(0);
    expect(estimate.perStep.length).toBeGreaterThan(0);

    const typo = await cli('estimate', '--cluster', 'tset');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/no cluster "tset" in .*configured clusters: test, gone/);
  });

  it('history: the runs Slack lists, newest first', async () => {
    const text = await cli('history', '--cluster', 'test');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(backupId);
    expect(words(text.stdout)).toBe(words(await inSlack('history test')));
    const { runs } = JSON.parse((await cli('history', '--cluster', 'test', '--json')).stdout) as { runs: { id: string; phase: string }[] };
    expect(runs[0]).toMatchObject({ id: backupId, phase: 'succeeded' });

    const bad = await cli('history', '--cluster', 'test', '--limit', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--limit takes a whole number/);
  });

  it('schedule list: the config file\'s schedules with their next run', async () => {
    const text = await cli('schedule', 'list');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/0 3 \* \* \*.*Europe\/Berlin/);
    expect(words(text.stdout)).toBe(words(await inSlack('schedule list')));
    const json = JSON.parse((await cli('schedule', 'list', '--json')).stdout) as { cluster: string; cron: string; source: string; nextRuns: string[] }[];
    expect(json).toEqual([expect.objectContaining({ cluster: 'test', cron: '0 3 * * *', source: 'config', nextRuns: [expect.any(String)] })]);
  });

  it('cancel: takes a queued run off the queue and says so in its Slack message; 1 for a run that ended, 2 for no such run', async () => {
    const runId = await f.backupThroughSlack();
    const cancelled = await cli('cancel', runId);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout.trim()).toBe(`Cancelled ${runId} before it started; nothing was touched.`);
    expect(await f.jobCount()).toBe(0);
    expect(await f.state.runs.getRun(runId)).toMatchObject({ phase: 'cancelled', error: expect.stringMatching(/^cancelled by cli:\S+@\S+ before it started$/) });
    const message = await f.sim.waitForMessage((m) => m.channel === OPS && m.text.includes(runId) && /cancel/i.test(m.text), { description: 'the run message showing the cancel' });
    expect(message.edited).toBeTruthy();
    const audit = await f.state.audit.list({ cluster: 'test' });
    expect(audit.some((e) => e.action === 'cancel' && e.runId === runId && e.outcome === 'cancelled' && e.actor.startsWith('cli:'))).toBe(true);

    const ended = await cli('cancel', backupId, '--json');
    expect(ended.code).toBe(1);
    expect(JSON.parse(ended.stdout)).toMatchObject({ outcome: 'already-ended', cancelled: false, message: `${backupId} already ended (succeeded): nothing to cancel` });

    const unknown = await cli('cancel', 'test-nosuchrun');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no run test-nosuchrun/);
    expect(unknown.stderr).toMatch(/pachbackup history --cluster/);
  });
});
