import { describe, expect, it } from 'vitest';
import { buildBackupList } from '../../../src/slack/views/backup-list.js';
import type { BackupListItemView } from '../../../src/slack/views/view-models.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { NOW, listItems } from './view-fixtures.js';

const cluster = { cluster: 'prod', clusterDisplayName: 'Production' };

describe('backup list', () => {
  it('renders as in the golden file', () => {
    const message = buildBackupList({ ...cluster, backups: listItems, incomplete: ['prod-20261124-091500'], now: NOW });
    expectGolden('backup-list', message);
    expect(blockKitProblems(message)).toEqual([]);
  });

  it('lists newest first with downtime, sizes, version, verification and age', () => {
    const message = buildBackupList({ ...cluster, backups: listItems, now: NOW });
    const text = allText(message).join('\n');
    const order = ['prod-20261124-030000', 'prod-20261117-030000', 'prod-20261110-030000'].map((id) => text.indexOf(id));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(text).toContain('✅ `prod-20261124-030000`');
    expect(text).toContain('❌ `prod-20261117-030000`');
    expect(text).toContain('◽ `prod-20261110-030000`');
    expect(text).toContain('(6 h 24 min ago) · paused 3 min 12 s · 12,071 objects, 48.3 GiB · databases 1.3 GiB · Pachyderm 2.11.3');
  });

  it('says how to make the first backup when there is none, and mentions incomplete ones', () => {
    const text = allText(buildBackupList({ ...cluster, backups: [], incomplete: ['prod-x'] })).join('\n');
    expect(text).toContain('No backups of *Production* yet. Start one with `/pachbackup backup prod`.');
    expect(text).toContain('1 incomplete backup');
  });

  it('stays within Slack limits for a thousand backups', () => {
    const many: BackupListItemView[] = Array.from({ length: 1000 }, (_, i) => ({ ...listItems[0]!, id: `prod-${String(i).padStart(4, '0')}` }));
    const message = buildBackupList({ ...cluster, backups: many });
    expect(blockKitProblems(message)).toEqual([]);
    expect(allText(message).join('\n')).toMatch(/…and \d+ older backups/);
  });
});
