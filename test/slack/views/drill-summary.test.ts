import { describe, expect, it } from 'vitest';
import { buildDrillCheckReply, buildDrillMessage, buildDrillSummary, type DrillSummaryView } from '../../../src/slack/views/drill-summary.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';

const passed: DrillSummaryView = {
  id: 'prod-20261124t031500z-drill-1a2b3c',
  cluster: 'prod',
  backupId: 'prod-20261124t030000z-7f3a',
  ok: true,
  checks: [
    { name: 'backup: dump pachyderm', ok: true, detail: 'checksum matches (1.3 GiB)' },
    { name: 'restore pachyderm', ok: true, detail: 'restored into pachyderm_drill_1a2b3c' },
    { name: 'scratch removed', ok: true, detail: '2 databases and 120 objects removed' },
  ],
  durationMs: 192_000,
};
const failed: DrillSummaryView = {
  ...passed,
  ok: false,
  error: 'a check failed',
  checks: [passed.checks[0]!, { name: 'rows of pachyderm', ok: false, detail: 'table pfs.commits: 12 rows, the backup says 13' }, passed.checks[2]!],
};

describe('drill views', () => {
  it('render as in the golden files', () => {
    const message = buildDrillMessage({ id: passed.id, cluster: 'prod', backupId: passed.backupId!, requestedBy: '<@U0OPS1>', state: 'queued' });
    expectGolden('drill-message-queued', message);
    expectGolden('drill-check-reply', buildDrillCheckReply(failed.checks[1]!));
    expectGolden('drill-summary-passed', buildDrillSummary(passed));
    expectGolden('drill-summary-failed', buildDrillSummary(failed));
    for (const m of [message, buildDrillSummary(passed), buildDrillSummary(failed), buildDrillCheckReply(passed.checks[0]!)]) expect(blockKitProblems(m)).toEqual([]);
  });

  it('is quiet on a pass and loud on a failure, naming each failed check', () => {
    expect(allText(buildDrillSummary(passed)).join('\n')).toContain('✅ *Drill `prod-20261124t031500z-drill-1a2b3c` of `prod` passed.*');
    const text = allText(buildDrillSummary(failed)).join('\n');
    expect(text).toContain('FAILED');
    expect(text).toContain('1 of 3 checks failed');
    expect(text).toContain('*rows of pachyderm* — table pfs.commits: 12 rows, the backup says 13');
    expect(text).not.toContain('backup: dump pachyderm');
  });

  it('escapes names and details', () => {
    const text = allText(buildDrillSummary({ ...failed, checks: [{ name: '<!channel>', ok: false, detail: '<http://x|y>' }] })).join('\n');
    expect(text).not.toMatch(/<[!h]/);
    expect(text).toContain('&lt;!channel&gt;');
  });
});
