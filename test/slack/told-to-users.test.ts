import { afterEach, describe, expect, it } from 'vitest';
import { mrkdwn } from '../../src/sandbox/slack-sim/transcript.js';
import { ALICE, ANNOUNCE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

/** A display name as an operator might well write it, with every character mrkdwn reads as markup. */
const DISPLAY_NAME = 'Prod <EU> & *Lab*';
/** How Slack shows it once escaped: as typed, the asterisks as look-alikes (mrkdwn has no escape for them). */
const SHOWN = 'Prod <EU> & ∗Lab∗';

let fixture: SlackFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

async function pausedBackup(f: SlackFixture): Promise<string> {
  const runId = await f.backupThroughSlack();
  await f.sim.waitForMessage((m) => m.channel === OPS && m.thread_ts !== m.ts && /Pause Pachyderm/.test(m.text) && f.messagesIn(OPS).some((p) => p.ts === m.thread_ts && p.text.includes(runId)), {
    timeoutMs: 30_000,
    description: 'the pause finishing',
  });
  return runId;
}

/**
 * What users are told when an operator stops a backup, end to end through the Slack simulator: names shown as
 * typed, a cancel told as a cancel, a pause that could not be undone followed up, and `history` showing the pause.
 */
describe('what users are told', () => {
  it("shows the cluster's name as typed and tells an operator's cancel as a cancel; history shows the pause", async () => {
    const f = (fixture = await createSlackFixture({ podDelayMs: 800, editConfig: (config) => void (config.clusters.test.displayName = DISPLAY_NAME) }));
    const runId = await pausedBackup(f);
    const queued = f.sim.snapshot().ephemerals.find((e) => e.user === ALICE && e.text.includes('is queued'))!;
    expect(mrkdwn(f.sim.snapshot(), JSON.stringify(queued.blocks))).toContain(`*${SHOWN}*`);
    expect(mrkdwn(f.sim.snapshot(), queued.text)).toContain(`of ${SHOWN} is queued`);

    await f.command(ALICE, `cancel ${runId}`);
    await f.finished(runId);
    const announcement = f.messagesIn(ANNOUNCE)[0]!;
    expect(mrkdwn(f.sim.snapshot(), announcement.text)).toMatch(new RegExp(`^🛑 The backup of Pachyderm \\*${SHOWN.replace(/[*]/g, '\\*')}\\* was cancelled; Pachyderm is back \\(paused [\\d.]+ (ms|s)\\)\\.$`));
    expect(JSON.stringify(announcement.blocks)).not.toMatch(/failed|looking into/);

    const { reply } = await f.command(ALICE, 'history test');
    const history = mrkdwn(f.sim.snapshot(), JSON.stringify(reply.blocks));
    expect(history).toContain(`🛑 \`${runId}\` · backup · cancelled`);
    expect(history).toMatch(/paused about [\d.]+ (ms|s) before it was cancelled/);
    expect(history).not.toContain('not paused');
  });

  it('follows up a pause that could not be undone: still paused, the team is on it', async () => {
    const f = (fixture = await createSlackFixture({ podDelayMs: 300 }));
    const runId = await pausedBackup(f);
    const paused = f.messagesIn(ANNOUNCE)[0]!;
    expect(paused.text).toMatch(/is paused for a backup since .* Expected back around/);
    // Resuming fails from now on: every scale of a Deployment is refused.
    f.kube.faults.failures.push({ verb: 'patch', resource: 'deployments', subresource: 'scale', code: 500, message: 'etcd is unavailable' });
    await f.command(ALICE, `cancel ${runId}`);
    await f.finished(runId, 200_000);
    const announcement = f.messagesIn(ANNOUNCE)[0]!;
    expect(announcement.ts).toBe(paused.ts);
    expect(announcement.text).toBe('⚠️ Pachyderm *test* is still paused: the backup was cancelled and resuming Pachyderm did not work. The team is on it.');
    expect(JSON.stringify(announcement.blocks)).not.toContain('Expected back around');
    expect((await f.replicas()).pachd).toBe(0);
    // Each undo attempt first retries the refused scale for the Kubernetes retry budget (30 s), three attempts.
  }, 240_000);
});
