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

  it('tells users and on-call at the first refused resume, keeps trying, and ends both stories when the cluster is back', async () => {
    const f = (fixture = await createSlackFixture({ podDelayMs: 300 }));
    const runId = await pausedBackup(f);
    const paused = f.messagesIn(ANNOUNCE)[0]!;
    expect(paused.text).toMatch(/is paused for a backup since .* Expected back around/);
    // Resuming fails from now on: every scale of a Deployment is refused.
    f.kube.faults.failures.push({ verb: 'patch', resource: 'deployments', subresource: 'scale', code: 500, message: 'etcd is unavailable' });
    await f.command(ALICE, `cancel ${runId}`);

    // Told after the first attempt at resuming failed, while the undo goes on (not after all three ran out).
    const still = await f.sim.waitForMessage((m) => m.channel === ANNOUNCE && m.ts === paused.ts && /still paused/.test(m.text), { timeoutMs: 90_000, description: 'still paused' });
    expect(still.text).toBe('⚠️ Pachyderm *test* is still paused: the backup was cancelled and resuming Pachyderm did not work. The team is on it.');
    expect(JSON.stringify(still.blocks)).not.toContain('Expected back around');
    // On-call gets one alert in the ops channel itself (not only in the thread): what is wrong and what to do.
    const isAlert = (m: { channel: string; ts: string; thread_ts?: string; text: string }) => m.channel === OPS && (m.thread_ts === undefined || m.thread_ts === m.ts) && /is not back|is back \(backup/.test(m.text);
    const alert = await f.sim.waitForMessage((m) => isAlert(m) && /is not back/.test(m.text), { timeoutMs: 10_000, description: 'the not-back alert' });
    expect(alert.text).toMatch(new RegExp(`^🚨 Pachyderm \\*test\\* is not back after backup \`${runId}\`.*resuming failed \\(attempt 1 of 3\\): .*etcd is unavailable`));
    expect(alert.text).toMatch(/\*What to do:\* pachbackup keeps trying to scale the recorded replicas back\. Check that the Kubernetes API answers/);
    expect(f.sim.snapshot().channels.find((c) => c.id === OPS)!.messages.filter(isAlert)).toHaveLength(1);
    expect((await f.state.runs.getRun(runId))?.phase).toBe('running');
    expect((await f.replicas()).pachd).toBe(0);

    // Kubernetes lets the resume through again: the undo's next attempt brings the cluster back, and both say so.
    f.kube.faults.failures.splice(0);
    await f.finished(runId, 120_000);
    expect((await f.state.runs.getRun(runId))?.phase).toBe('cancelled');
    expect((await f.replicas()).pachd).toBe(1);
    await expect.poll(() => f.messagesIn(ANNOUNCE)[0]!.text, { timeout: 10_000 }).toMatch(/^🛑 The backup of Pachyderm \*test\* was cancelled; Pachyderm is back/);
    expect(f.messagesIn(ANNOUNCE)).toHaveLength(1);
    await expect.poll(() => f.messagesIn(OPS).find((m) => m.ts === alert.ts)?.text, { timeout: 10_000 }).toMatch(new RegExp(`^✅ Pachyderm \\*test\\* is back \\(backup \`${runId}\`; it was not back for \\d+ s: resuming failed`));
  }, 180_000);
});
