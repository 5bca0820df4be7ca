import { describe, expect, it } from 'vitest';
import { buildHeadsUpWithdrawn } from '../../../src/slack/views/heads-up-withdrawn.js';
import { buildScheduleCreated } from '../../../src/slack/views/schedule-created.js';
import { buildScheduleList, type ScheduleView } from '../../../src/slack/views/schedule-list.js';
import { buildScheduleRemoved } from '../../../src/slack/views/schedule-removed.js';
import { buildScheduleSkipped } from '../../../src/slack/views/schedule-skipped.js';
import { allText, blockKitProblems, mrkdwnTexts } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { INJECTED_NOTE, START, START_UNIX } from './view-fixtures.js';

/** A nightly backup of production at 04:00 Berlin (03:00 UTC in November), made in Slack by an operator. */
const nightly: ScheduleView = {
  id: 'sched-1a2b3c',
  cluster: 'prod',
  clusterDisplayName: 'Production',
  cron: '0 4 * * *',
  timezone: 'Europe/Berlin',
  headsUpMinutes: 30,
  source: 'slack',
  createdBy: 'U024BE7LH',
  createdAt: '2026-11-20T10:00:00.000Z',
  nextRuns: [START, '2026-11-25T03:00:00.000Z', '2026-11-26T03:00:00.000Z'],
};

const weekly: ScheduleView = {
  id: 'config-staging-0f1e2d3c',
  cluster: 'staging',
  clusterDisplayName: 'Staging',
  cron: '0 6 * * 0',
  timezone: 'UTC',
  headsUpMinutes: 120,
  source: 'config',
  nextRuns: ['2026-11-29T06:00:00.000Z'],
};

describe('schedule views', () => {
  it('render as in the golden files', () => {
    const messages = {
      'schedule-created': buildScheduleCreated({ ...nightly, announceChannel: 'C0ANNOUNCE' }),
      'schedule-list': buildScheduleList({ schedules: [weekly, nightly] }),
      'schedule-list-empty': buildScheduleList({ schedules: [] }),
      'schedule-skipped': buildScheduleSkipped({ schedule: nightly, busy: { kind: 'backup', runId: 'prod-20261124t025500z-7f3a', requestedBy: '<@U024BE7LH>', state: 'running' }, nextRun: nightly.nextRuns[1]! }),
      'schedule-removed': buildScheduleRemoved(nightly),
      'heads-up-withdrawn': buildHeadsUpWithdrawn({ clusterDisplayName: 'Production', startsAt: START, fallbackZone: 'UTC', reason: 'busy' }),
    };
    for (const [name, message] of Object.entries(messages)) {
      expectGolden(name, message);
      expect(blockKitProblems(message), name).toEqual([]);
    }
  });

  it('confirms a new schedule with its id and the next three runs as Slack date tokens, fallbacks in its zone', () => {
    const text = allText(buildScheduleCreated({ ...nightly, announceChannel: 'C0ANNOUNCE' })).join('\n');
    expect(text).toContain('✅ Scheduled backups of *Production* (`prod`): `0 4 * * *` in Europe/Berlin — schedule `sched-1a2b3c`.');
    expect(text).toContain(`• <!date^${START_UNIX}^{date_short_pretty} at {time}|Tue 24 Nov 04:00 GMT+1>`);
    expect(mrkdwnTexts(buildScheduleCreated(nightly)).join('\n').match(/<!date\^/g)).toHaveLength(3);
    expect(text).toContain('Users in <#C0ANNOUNCE> get a heads-up 30 min before each run');
    expect(text).toContain('`/pachbackup schedule remove sched-1a2b3c`');
  });

  it('shows seconds when the expression has them, and says when there is no heads-up or no announce channel', () => {
    const everyTwo = { ...nightly, cron: '*/2 * * * * *', timezone: 'UTC', nextRuns: ['2026-11-24T03:00:02.000Z'] };
    expect(allText(buildScheduleCreated(everyTwo)).join('\n')).toContain('^{date_short_pretty} at {time_secs}|Tue 24 Nov 03:00:02 UTC>');
    expect(allText(buildScheduleCreated(everyTwo)).join('\n')).toContain('No heads-up: `prod` has no announce channel in the config.');
    expect(allText(buildScheduleCreated({ ...nightly, headsUpMinutes: 0, announceChannel: 'C0ANNOUNCE' })).join('\n')).toContain('No heads-up is posted before its runs.');
  });

  it('lists every schedule soonest first with where it comes from, its next run and its heads-up', () => {
    const text = allText(buildScheduleList({ schedules: [weekly, nightly] })).join('\n');
    expect(text.indexOf('sched-1a2b3c')).toBeLessThan(text.indexOf('config-staging-0f1e2d3c'));
    expect(text).toContain('🗓️ *Production* (`prod`) · `0 4 * * *` in Europe/Berlin · next <!date^1795489200^');
    expect(text).toContain('`sched-1a2b3c` · heads-up 30 min ahead · made in Slack by <@U024BE7LH>');
    expect(text).toContain('`config-staging-0f1e2d3c` · heads-up 2 h ahead · config file');
    expect(allText(buildScheduleList({ schedules: [] })).join('\n')).toContain('No scheduled backups. Add one with `/pachbackup schedule &lt;cluster&gt; "&lt;cron&gt;" [time zone]`');
  });

  it('says why a scheduled run was skipped and who has the cluster', () => {
    const message = buildScheduleSkipped({ schedule: nightly, busy: { kind: 'restore', runId: 'prod-restore-1', requestedBy: 'cli:alice@host', state: 'queued' } });
    expect(message.text).toBe('⏭️ Scheduled backup of Production skipped: restore prod-restore-1 by cli:alice@host is queued.');
  });

  it('withdraws a heads-up in words for the users, at the time they were given', () => {
    const message = buildHeadsUpWithdrawn({ clusterDisplayName: 'Production', startsAt: START, fallbackZone: 'UTC', reason: 'busy' });
    expect(message.text).toBe(
      `ℹ️ No pause at <!date^${START_UNIX}^{date_short_pretty} at {time}|Tue 24 Nov 03:00 UTC> after all: the scheduled backup of Pachyderm *Production* is skipped because the team was already working on it.`,
    );
    expect(allText(message).join('\n')).not.toMatch(/\bRCs?\b|replica|deployment|pachd|namespace|kubectl|lock/i);
    expect(buildHeadsUpWithdrawn({ clusterDisplayName: 'Production', startsAt: START, fallbackZone: 'UTC', reason: 'removed' }).text).toMatch(/the scheduled backup of Pachyderm \*Production\* is cancelled: its schedule was removed\.$/);
  });

  it('escapes names and expressions, so nothing can mention or link', () => {
    const evil: ScheduleView = { ...nightly, clusterDisplayName: INJECTED_NOTE, cron: INJECTED_NOTE, timezone: INJECTED_NOTE, id: INJECTED_NOTE, createdBy: INJECTED_NOTE };
    const messages = [
      buildScheduleCreated({ ...evil, announceChannel: INJECTED_NOTE }),
      buildScheduleList({ schedules: [evil] }),
      buildScheduleSkipped({ schedule: evil, busy: { kind: INJECTED_NOTE, runId: INJECTED_NOTE, requestedBy: INJECTED_NOTE, state: 'running' } }),
      buildScheduleRemoved(evil),
      buildHeadsUpWithdrawn({ clusterDisplayName: INJECTED_NOTE, startsAt: START, fallbackZone: 'UTC', reason: 'removed' }),
    ];
    for (const message of messages) {
      expect(blockKitProblems(message)).toEqual([]);
      for (const t of [message.text, ...mrkdwnTexts(message)]) {
        expect(t).not.toContain('<!channel>');
        expect(t).not.toContain('<https://evil');
      }
    }
  });

  it('stays within Slack limits for hundreds of schedules', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ ...nightly, id: `sched-${String(i).padStart(6, '0')}` }));
    const message = buildScheduleList({ schedules: many });
    expect(blockKitProblems(message)).toEqual([]);
    expect(allText(message).join('\n')).toMatch(/…and \d+ more schedules/);
  });
});
