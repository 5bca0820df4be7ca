import { describe, expect, it } from 'vitest';
import { buildStaleBackupAlert, buildStaleBackupResolved, buildStaleBackupSummary, formatAgeSpan, type StaleBackupAlertView } from '../../../src/slack/views/stale-backup-alert.js';
import { allText, blockKitProblems, mrkdwnTexts } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { INJECTED_NOTE, START, START_UNIX } from './view-fixtures.js';

/** Production's last good backup finished at 03:00 UTC on Tue 24 Nov 2026; it is now 31 h 20 min later. */
const NOW = '2026-11-25T10:20:00.000Z';
const stale: StaleBackupAlertView = {
  cluster: 'prod',
  displayName: 'Production',
  lastGoodBackup: { id: 'prod-20261124-030000', completedAt: START },
  thresholdSeconds: 26 * 3600,
  now: NOW,
};
const never: StaleBackupAlertView = { cluster: 'edge', displayName: 'Edge lab', thresholdSeconds: 26 * 3600, now: NOW };

describe('stale-backup alert', () => {
  it('renders a stale cluster, a cluster never backed up and the all-clear as in the golden files', () => {
    const messages = {
      'stale-backup-alert': buildStaleBackupAlert(stale),
      'stale-backup-alert-never': buildStaleBackupAlert(never),
      'stale-backup-resolved': buildStaleBackupResolved({ cluster: 'prod', displayName: 'Production', backup: { id: 'prod-20261125-103000', completedAt: '2026-11-25T10:30:00.000Z' } }),
      'stale-backup-summary': buildStaleBackupSummary([stale, never]),
      'stale-backup-resolved-several': buildStaleBackupResolved([
        { cluster: 'prod', displayName: 'Production', backup: { id: 'prod-20261125-103000', completedAt: '2026-11-25T10:30:00.000Z' } },
        { cluster: 'edge', displayName: 'Edge lab', backup: { id: 'edge-20261125-104000', completedAt: '2026-11-25T10:40:00.000Z' } },
      ]),
    };
    for (const [name, message] of Object.entries(messages)) {
      expectGolden(name, message);
      expect(blockKitProblems(message), name).toEqual([]);
    }
  });

  it('says how long the cluster has gone without a good backup, against how often one is expected', () => {
    const message = buildStaleBackupAlert(stale);
    expect(message.text).toBe(
      `⚠️ No good backup of *Production* (\`prod\`) for *31 h*: the last one finished <!date^${START_UNIX}^{date_short_pretty} at {time}|Tue 24 Nov 03:00 UTC>. ` +
        'Backups are expected at least every 26 h.',
    );
    const text = allText(message).join('\n');
    expect(text).toContain('`prod-20261124-030000`');
    expect(text).toContain('(31 h ago)');
    expect(text).toContain('`/pachbackup history prod`');
    expect(text).toContain('`/pachbackup backup prod`');
  });

  it('says so plainly when a cluster has never had a good backup', () => {
    const message = buildStaleBackupAlert(never);
    expect(message.text).toBe('⚠️ *Edge lab* (`edge`) has *no good backup* on record. Backups are expected at least every 26 h.');
    expect(allText(message).join('\n')).toContain('none on record');
  });

  it('makes the date fallback in the configured zone', () => {
    expect(buildStaleBackupAlert({ ...stale, fallbackZone: 'Europe/Berlin' }).text).toContain(`<!date^${START_UNIX}^{date_short_pretty} at {time}|Tue 24 Nov 04:00 GMT+1>`);
  });

  it('escapes names and ids that try to ping the channel or link', () => {
    const messages = [
      buildStaleBackupAlert({ ...stale, cluster: INJECTED_NOTE, displayName: INJECTED_NOTE, lastGoodBackup: { id: INJECTED_NOTE, completedAt: START } }),
      buildStaleBackupAlert({ ...never, cluster: INJECTED_NOTE, displayName: INJECTED_NOTE }),
      buildStaleBackupResolved({ cluster: INJECTED_NOTE, displayName: INJECTED_NOTE, backup: { id: INJECTED_NOTE, completedAt: START } }),
    ];
    for (const message of messages) {
      expect(blockKitProblems(message)).toEqual([]);
      for (const text of mrkdwnTexts(message)) {
        expect(text).not.toContain('<!channel>');
        expect(text).not.toContain('<https://evil');
      }
    }
  });

  it('writes ages in the units that matter, never rounding up', () => {
    expect(formatAgeSpan(59)).toBe('0 min');
    expect(formatAgeSpan(45 * 60)).toBe('45 min');
    expect(formatAgeSpan(3 * 3600 + 20 * 60 + 59)).toBe('3 h 20 min');
    expect(formatAgeSpan(26 * 3600)).toBe('26 h');
    expect(formatAgeSpan(47 * 3600 + 59 * 60)).toBe('47 h');
    expect(formatAgeSpan(76 * 3600)).toBe('3 days 4 h');
    expect(formatAgeSpan(12.9 * 86400)).toBe('12 days');
  });

  it('sums up hundreds of stale clusters in one message within its limits, naming how many more', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ ...stale, cluster: `cluster-${i}`, displayName: `Cluster with a long display name ${i}` }));
    const message = buildStaleBackupSummary(many);
    expect(blockKitProblems(message)).toEqual([]);
    const text = allText(message).join('\n');
    expect(text).toContain('⚠️ *300 clusters* have no recent good backup.');
    expect(text).toMatch(/_…and \d+ more clusters_/);
  });
});
