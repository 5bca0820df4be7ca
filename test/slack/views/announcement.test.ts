import { describe, expect, it } from 'vitest';
import { buildAnnouncement, buildOverrunNote, slackDate } from '../../../src/slack/views/announcement.js';
import type { AnnouncementView } from '../../../src/slack/views/view-models.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { INJECTED_NOTE, START, START_UNIX, announcement } from './view-fixtures.js';

const STATES = ['upcoming', 'paused', 'overrun', 'back', 'failed-back', 'still-paused'] as const;
const RESTORE_STATES = ['restoring', 'paused', 'overrun', 'back', 'failed-back', 'still-paused', 'restored', 'failed'] as const;
/** The backup restored in the fixtures: taken a day before the outage. */
const TAKEN = '2026-11-23T03:00:00.000Z';

function render(view: AnnouncementView) {
  return buildAnnouncement(view);
}

describe('announcement', () => {
  it('renders every state as in the golden files', () => {
    const views: Record<(typeof STATES)[number], AnnouncementView> = {
      upcoming: announcement('upcoming'),
      paused: announcement('paused'),
      overrun: announcement('overrun', { revisedEndAt: '2026-11-24T03:08:30.000Z' }),
      back: announcement('back', { actualSeconds: 192 }),
      'failed-back': announcement('failed-back', { actualSeconds: 141 }),
      'still-paused': announcement('still-paused'),
    };
    for (const state of STATES) {
      const message = render(views[state]);
      expectGolden(`announcement-${state}`, message);
      expect(blockKitProblems(message), state).toEqual([]);
    }
  });

  it('says when Pachyderm paused and when it is expected back, as Slack date tokens with a luxon fallback', () => {
    const message = render(announcement('paused'));
    expect(message.text).toBe(
      `⏸️ Pachyderm *Production* is paused for a backup since <!date^${START_UNIX}^{date_short_pretty} at {time}|Tue 24 Nov 03:00 UTC>. ` +
        `Expected back around <!date^${START_UNIX + 240}^{date_short_pretty} at {time}|Tue 24 Nov 03:04 UTC> (estimated 3–5 min).`,
    );
    expect(allText(message).join('\n')).toContain('Pipelines and uploads wait until then');
  });

  it('makes the fallback in the configured zone while the token stays the same instant', () => {
    const text = render(announcement('paused', { fallbackZone: 'Europe/Berlin' })).text;
    expect(text).toContain(`<!date^${START_UNIX}^{date_short_pretty} at {time}|Tue 24 Nov 04:00 GMT+1>`);
    expect(slackDate(START, '{time}', 'America/New_York')).toBe(`<!date^${START_UNIX}^{time}|22:00 EST>`);
    expect(slackDate('2026-11-24T04:00:00+01:00', '{date_short_pretty}', 'UTC')).toBe(`<!date^${START_UNIX}^{date_short_pretty}|Tue 24 Nov 2026>`);
  });

  it('gives a heads-up with the start time for a scheduled backup', () => {
    const text = render(announcement('upcoming')).text;
    expect(text).toMatch(/^📣 Heads-up: Pachyderm \*Production\* will pause for a backup at <!date\^1795489200\^/);
    expect(text).toContain('for about 4 min (3–5 min)');
  });

  it('revises the expected end when the estimate is exceeded', () => {
    const text = render(announcement('overrun', { revisedEndAt: '2026-11-24T03:08:30.000Z' })).text;
    expect(text).toContain('taking longer than estimated');
    expect(text).toContain(`Now expected back around <!date^${START_UNIX + 510}^{date_short_pretty} at {time}|Tue 24 Nov 03:08 UTC>`);
  });

  it('gives the all clear with the real pause against the estimate, and says so when the backup failed', () => {
    expect(render(announcement('back', { actualSeconds: 192 })).text).toBe('✅ Pachyderm *Production* is back (paused 3 min 12 s, estimated 4 min).');
    expect(render(announcement('failed-back', { actualSeconds: 141 })).text).toBe('⚠️ The backup of Pachyderm *Production* failed, but Pachyderm is back (paused 2 min 21 s).');
  });

  it("tells users an operator's cancel as a cancel, not as a failure the team is looking into", () => {
    const cancelled = render(announcement('failed-back', { actualSeconds: 42, cancelled: true }));
    expectGolden('announcement-cancelled-back', cancelled);
    expect(cancelled.text).toBe('🛑 The backup of Pachyderm *Production* was cancelled; Pachyderm is back (paused 42.0 s).');
    expect(allText(cancelled).join('\n')).not.toMatch(/failed|looking into/);
  });

  it('follows a pause that never ended up: still paused, the team is on it — never "expected back around" again', () => {
    const stuck = render(announcement('still-paused'));
    expect(stuck.text).toBe('⚠️ Pachyderm *Production* is still paused: the backup failed and resuming Pachyderm did not work. The team is on it.');
    expect(allText(stuck).join('\n')).not.toMatch(/expected back|<!date/i);
    expect(render(announcement('still-paused', { cancelled: true })).text).toContain('the backup was cancelled and resuming Pachyderm did not work');
  });

  it('gives a revised end in the overrun thread note as a time token, never as a raw timestamp', () => {
    const note = buildOverrunNote({ pausedSeconds: 312, revisedEndAt: '2026-11-24T03:08:30.000Z', fallbackZone: 'Europe/Berlin' });
    expect(note).toBe(`Taking longer than estimated (paused 5 min 12 s so far). New estimate: back around <!date^${START_UNIX + 510}^{time}|04:08 GMT+1>.`);
    expect(note).not.toMatch(/\d{4}-\d\d-\d\dT/);
  });

  it('talks to data scientists, not to Kubernetes', () => {
    for (const state of STATES) {
      const text = allText(render(announcement(state, { actualSeconds: 100 }))).join('\n');
      expect(text, state).not.toMatch(/\bRCs?\b|replica|deployment|pachd|namespace|kubectl/i);
    }
  });

  it('escapes a display name that tries to ping the channel', () => {
    const text = render(announcement('paused', { clusterDisplayName: INJECTED_NOTE })).text;
    expect(text).toContain('*&lt;!channel&gt; &lt;https://evil|click&gt;*');
    expect(text).not.toContain('<!channel>');
  });

  describe('of a restore', () => {
    const inPlace = (state: AnnouncementView['state'], extra: Partial<AnnouncementView> = {}) => announcement(state, { restore: { backupTakenAt: TAKEN, switches: true }, ...extra });
    const beside = (state: AnnouncementView['state']) => announcement(state, { restore: { backupTakenAt: TAKEN, switches: false } });

    it('renders every state as in the golden files', () => {
      for (const state of RESTORE_STATES) {
        const view = state === 'restored' || state === 'failed' ? beside(state) : inPlace(state, { actualSeconds: 95, revisedEndAt: '2026-11-24T03:08:30.000Z' });
        const message = render(view);
        expectGolden(`announcement-restore-${state}`, message);
        expect(blockKitProblems(message), state).toEqual([]);
      }
    });

    it('says which moment users get back, and that anything saved after it is not there', () => {
      const taken = `<!date^${START_UNIX - 86_400}^{date_short_pretty} at {time}|Mon 23 Nov 03:00 UTC>`;
      expect(render(inPlace('restoring')).text).toBe(`🛠️ Pachyderm *Production* is being restored to its state of ${taken}. Once the data is ready it will pause for about 4 min (3–5 min); we will post here when it does.`);
      expect(allText(render(inPlace('paused'))).join('\n')).toContain(`Anything saved to Pachyderm after ${taken}`);
      expect(render(inPlace('back', { actualSeconds: 95 })).text).toBe(`✅ Pachyderm *Production* is back, restored to its state of ${taken} (paused 1 min 35 s, estimated 4 min).`);
    });

    it('tells users nothing changes yet when the restore goes beside the cluster, and when it failed', () => {
      expect(render(beside('restoring')).text).toMatch(/is being restored beside it\. Pachyderm keeps running as usual\.$/);
      expect(allText(render(beside('restored'))).join('\n')).toContain('We will post here before Pachyderm is switched over');
      expect(render(beside('failed')).text).toMatch(/did not complete\. Nothing changed for you/);
    });

    it('tells a cancelled restore as cancelled, before or after the pause', () => {
      expect(render(inPlace('failed-back', { actualSeconds: 30, cancelled: true })).text).toMatch(/was cancelled; Pachyderm is back on its data from before \(paused 30\.0 s\)\. Nothing was replaced\.$/);
      expect(render({ ...beside('failed'), cancelled: true }).text).toMatch(/was cancelled before it changed anything/);
      for (const view of [inPlace('failed-back', { actualSeconds: 30, cancelled: true }), { ...beside('failed'), cancelled: true }]) {
        expect(allText(render(view)).join('\n')).not.toMatch(/looking into|failed/);
      }
    });

    it('says whether the data was replaced when it failed after pausing', () => {
      expect(render(inPlace('failed-back', { actualSeconds: 30 })).text).toMatch(/failed, but Pachyderm is back on its data from before \(paused 30\.0 s\)\. Nothing was replaced\.$/);
      expect(render(inPlace('failed-back', { actualSeconds: 30, restore: { backupTakenAt: TAKEN, switches: true, replaced: true } })).text).toMatch(/hit a problem after its data was replaced/);
    });

    it('needs no estimate when the cluster is not paused', () => {
      const { estimate: _none, ...view } = beside('restoring');
      expect(render(view).text).toMatch(/being restored beside it/);
    });

    it('talks to data scientists, not to Kubernetes', () => {
      for (const state of RESTORE_STATES) {
        const text = allText(render(inPlace(state, { actualSeconds: 100 }))).join('\n');
        expect(text, state).not.toMatch(/\bRCs?\b|replica|deployment|pachd|namespace|kubectl|helm|database/i);
      }
    });
  });
});
