import { describe, expect, it } from 'vitest';
import { sandboxSeed, SANDBOX_IDS } from '../../../src/sandbox/slack-sim/seed.js';
import { mrkdwn, renderTranscript } from '../../../src/sandbox/slack-sim/transcript.js';
import { SlackWorkspace, type Block } from '../../../src/sandbox/slack-sim/workspace.js';

const { alice, carol, opsChannel, announceChannel } = SANDBOX_IDS;

/** A workspace whose clock starts at 2026-11-24 03:00:00 UTC and ticks one second per reading. */
function workspaceAt3am(): SlackWorkspace {
  let now = Date.UTC(2026, 10, 24, 3, 0, 0);
  return new SlackWorkspace(sandboxSeed(), { now: () => (now += 1000) });
}

const restoreRequest: Block[] = [
  { type: 'header', text: { type: 'plain_text', text: 'Restore of prod requested' } },
  {
    type: 'section',
    text: { type: 'mrkdwn', text: '<@U0OPS1> wants to restore *bk-7* taken <!date^1700000000^{date_short_pretty} at {time}|Nov 14, 2023 at 22:13 UTC>.' },
  },
  { type: 'section', fields: [{ type: 'mrkdwn', text: '*Cluster*\nprod' }, { type: 'mrkdwn', text: '*Downtime*\n~14 min (11–18)' }] },
  { type: 'divider' },
  { type: 'context', elements: [{ type: 'mrkdwn', text: 'Expires in 1 hour · <https://example.com/plan|the plan>' }] },
  {
    type: 'actions',
    block_id: 'decision',
    elements: [
      { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: 'bk-7' },
      { type: 'button', action_id: 'reject', text: { type: 'plain_text', text: 'Reject' }, style: 'danger', value: 'bk-7' },
    ],
  },
];

describe('renderTranscript', () => {
  it('renders channels and threads as a person reads them', () => {
    const ws = workspaceAt3am();
    const bot = { user: ws.bot.user_id, bot_id: ws.bot.bot_id };
    ws.recordAction({ kind: 'command', user: alice, channel: opsChannel, description: '/pachbackup restore bk-7' });
    ws.postEphemeral({ channel: opsChannel, user: alice, text: 'Asked <!subteam^S0PLATFORM> to approve.', source: 'response_url', bot_id: ws.bot.bot_id });
    const request = ws.postMessage({ ...bot, channel: opsChannel, text: 'Restore of prod requested', blocks: restoreRequest });
    ws.postMessage({ ...bot, channel: opsChannel, thread_ts: request.ts, text: 'Paused pachd in 2.1 s' });
    ws.postMessage({ ...bot, channel: opsChannel, thread_ts: request.ts, text: 'Restore finished &amp; prod is back', reply_broadcast: true });
    ws.postMessage({
      ...bot,
      channel: announceChannel,
      text: 'Pachyderm prod pauses at <!date^1700000000^{time}|22:13 UTC>',
      attachments: [{ title: 'Downtime', text: 'about 14 minutes', fields: [{ title: 'Back around', value: '22:27' }] }],
    });

    expect(renderTranscript(ws.snapshot())).toBe(
      [
        '#pachyderm-ops',
        '════════════════════════════════════════',
        '03:00:07  » @alice: /pachbackup restore bk-7',
        '03:00:08  pachbackup (app)  (only visible to @alice)',
        '          Asked @platform to approve.',
        '03:00:09  pachbackup (app)',
        '          # Restore of prod requested',
        '          @alice wants to restore *bk-7* taken Nov 14, 2023 at 22:13 UTC.',
        `          ${'*Cluster*'.padEnd(45)}*Downtime*`, // fields side by side, half the width each
        `          ${'prod'.padEnd(45)}~14 min (11–18)`,
        '          ────────────────────────────────────────',
        '          Expires in 1 hour · the plan',
        '          [ Approve ]  [ Reject ]',
        '          └ 2 replies',
        '          │ 03:00:10  pachbackup (app)',
        '          │           Paused pachd in 2.1 s',
        '          │ 03:00:11  pachbackup (app)  (also sent to the channel)',
        '          │           Restore finished & prod is back',
        '03:00:11  pachbackup (app)  (replied to a thread)',
        '          Restore finished & prod is back',
        '',
        '#data-announcements',
        '════════════════════════════════════════',
        '03:00:12  pachbackup (app)',
        '          Pachyderm prod pauses at 22:13 UTC',
        '          ┃ Downtime',
        '          ┃ about 14 minutes',
        '          ┃ Back around: 22:27',
        '',
      ].join('\n'),
    );
  });

  it('marks edits, shows who clicked, and drops deleted messages', () => {
    const ws = workspaceAt3am();
    const bot = { user: ws.bot.user_id, bot_id: ws.bot.bot_id };
    const request = ws.postMessage({ ...bot, channel: opsChannel, text: 'Restore of prod requested', blocks: restoreRequest });
    const oops = ws.postMessage({ ...bot, channel: opsChannel, text: 'posted by mistake' });
    ws.recordAction({ kind: 'click', user: carol, channel: opsChannel, description: 'Approve' });
    ws.updateMessage(
      opsChannel,
      request.ts,
      { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Restore of prod approved by <@U0APR1>' } }] },
      ws.bot.user_id,
    );
    ws.deleteMessage(opsChannel, oops.ts);

    const text = renderTranscript(ws.snapshot(), { channels: ['#pachyderm-ops'] });
    expect(text).toContain('          Restore of prod approved by @carol (edited)\n');
    expect(text).toContain('» @carol clicked [ Approve ]');
    expect(text).not.toContain('[ Approve ]  [ Reject ]');
    expect(text).not.toContain('posted by mistake');
    expect(text).not.toContain('#data-announcements');
  });

  it('resolves Slack tokens the way the client displays them', () => {
    const state = workspaceAt3am().snapshot();
    expect(mrkdwn(state, '<@U0OPS2> <@U9UNKNOWN|zed> <#C0ANNOUNCE> <!here> <!subteam^S0PLATFORM|@platform> <mailto:a@b.c|mail> <https://x.y> a &lt; b &amp;&amp; c &gt; d')).toBe(
      '@bob @zed #data-announcements @here @platform mail https://x.y a < b && c > d',
    );
    expect(mrkdwn(state, '<!date^1700000000^{date_num}>')).toBe('2023-11-14 22:13 UTC');
  });
});
