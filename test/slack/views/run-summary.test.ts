import { describe, expect, it } from 'vitest';
import { buildRunSummary } from '../../../src/slack/views/run-summary.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { INJECTED_NOTE, summary } from './view-fixtures.js';

describe('run summary', () => {
  it('renders a succeeded and a failed backup as in the golden files', () => {
    const failed = buildRunSummary({ ...summary, phase: 'failed', error: 'delta-copy: SlowDown', warnings: ['verify skipped'], verified: undefined, downtimeSeconds: 141 });
    expectGolden('run-summary-succeeded', buildRunSummary(summary));
    expectGolden('run-summary-failed', failed);
    expect(blockKitProblems(buildRunSummary(summary))).toEqual([]);
    expect(blockKitProblems(failed)).toEqual([]);
  });

  it('gives the downtime against the estimate, the data copied, throughput, databases and verification', () => {
    const text = allText(buildRunSummary(summary)).join('\n');
    expect(text).toContain('✅ *Backup `prod-20261124-030000` of `prod` is complete.*');
    expect(text).toContain('3 min 12 s\nestimated 4 min (3–5 min)\n✅ within the estimated range');
    expect(text).toContain('12,071 objects (48.3 GiB) in the backup');
    expect(text).toContain('37 of them while paused');
    expect(text).toMatch(/\d+\.\d MiB\/s/);
    expect(text).toContain('pachyderm 1.3 GiB\ndex 212.0 KiB');
    expect(text).toContain('✅ all checks passed');
  });

  it('says how far outside the range a downtime fell', () => {
    const text = allText(buildRunSummary({ ...summary, downtimeSeconds: 420 })).join('\n');
    expect(text).toContain('⚠️ 2 min longer than the range');
  });

  it('is link-free: no links, mentions or tokens even when errors carry them', () => {
    const message = buildRunSummary({ ...summary, phase: 'failed', error: INJECTED_NOTE, warnings: [INJECTED_NOTE], databases: [{ name: '<http://x|db>', bytes: 1 }] });
    for (const t of allText(message)) expect(t).not.toMatch(/<[^\s]/);
    expect(allText(message).join('\n')).toContain('&lt;!channel&gt;');
  });

  it('says when nothing new had to be copied', () => {
    const text = allText(buildRunSummary({ ...summary, objects: { total: 12_071, copied: 0, copiedWhilePaused: 0 }, bytes: { total: 1, copied: 0 } })).join('\n');
    expect(text).toContain('none new: all were already in the backup store');
    expect(text).toContain('nothing new to copy');
  });
});
