import { describe, expect, it } from 'vitest';
import { buildRestoreSummary, type RestoreSummaryView } from '../../../src/slack/views/restore-summary.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { INJECTED_NOTE, estimate } from './view-fixtures.js';

const beside: RestoreSummaryView = {
  id: 'restore-staging-20261124-031500-7f3a',
  backupId: 'prod-20261123-030000',
  cluster: 'staging',
  phase: 'succeeded',
  warnings: [],
  inPlace: false,
  downtimeSeconds: null,
  databases: [
    { source: 'pachyderm', target: 'pachyderm_restored_20261124', tables: 41, rows: 1_204_311, replaced: false },
    { source: 'dex', target: 'dex_restored_20261124', tables: 12, rows: 88, replaced: false },
  ],
  objects: { mode: 'copy', bucket: 'acme-pachyderm-restored', prefix: '', total: 12_071, copied: 12_071, copiedBytes: 51_860_000_000, skipped: 0 },
  helm: { valuesUrl: 's3://acme-pachyderm-backups/prod/backups/prod-20261123-030000/restores/restore-staging-20261124-031500-7f3a/helm-values.yaml', command: 'helm upgrade --install pachyderm pachyderm/pachyderm --version 2.11.6 -n pachyderm -f restored-values.yaml' },
};

const inPlace: RestoreSummaryView = {
  ...beside,
  cluster: 'prod',
  inPlace: true,
  downtimeSeconds: 38.2,
  estimate,
  databases: beside.databases.map((d) => ({ ...d, target: d.source, replaced: true })),
  objects: { ...beside.objects, bucket: 'acme-pachyderm-prod', copied: 4, copiedBytes: 9_000_000, skipped: 12_067 },
};

describe('restore summary', () => {
  it('renders a restore beside the cluster, one in place and a failed one as in the golden files', () => {
    const failed = buildRestoreSummary({ ...inPlace, phase: 'failed', error: 'swap-databases: database "pachyderm" is no longer empty', downtimeSeconds: 12 });
    expectGolden('restore-summary-beside', buildRestoreSummary(beside));
    expectGolden('restore-summary-in-place', buildRestoreSummary(inPlace));
    expectGolden('restore-summary-failed', failed);
    for (const m of [buildRestoreSummary(beside), buildRestoreSummary(inPlace), failed]) expect(blockKitProblems(m)).toEqual([]);
  });

  it('says what was restored where, and what to run next', () => {
    const text = allText(buildRestoreSummary(beside)).join('\n');
    expect(text).toContain('is complete.');
    expect(text).toContain('none: Pachyderm was not paused');
    expect(text).toContain('`pachyderm` → `pachyderm_restored_20261124`: 41 tables, 1,204,311 rows');
    expect(text).toContain('12,071 copied');
    expect(text).toContain('Pachyderm still runs on its previous state');
    expect(text).toContain('```helm upgrade --install pachyderm');
  });

  it('gives the downtime of an in-place restore against its estimate', () => {
    const text = allText(buildRestoreSummary(inPlace)).join('\n');
    expect(text).toContain('38.2 s\nestimated 4 min (3–5 min)\n⚠️');
    expect(text).toContain('(replaced)');
    expect(text).toContain('already runs on the restored state');
  });

  it('offers no next step for a failed restore, and shows its error', () => {
    const text = allText(buildRestoreSummary({ ...beside, phase: 'failed', error: 'restore-databases: pg_restore exited with 1' })).join('\n');
    expect(text).toContain('❌ *Error:* restore-databases: pg_restore exited with 1');
    expect(text).not.toContain('helm upgrade');
  });

  it('escapes what errors and names carry', () => {
    const message = buildRestoreSummary({ ...beside, phase: 'failed', error: INJECTED_NOTE, warnings: [INJECTED_NOTE], databases: [{ source: '<!channel>', target: 'x', tables: 1, rows: 1, replaced: false }] });
    for (const t of allText(message)) expect(t).not.toContain('<!channel>');
    expect(message.text).not.toContain('<!channel>');
  });
});
