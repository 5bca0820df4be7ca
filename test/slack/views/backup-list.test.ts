import { describe, expect, it } from 'vitest';
import { isUsageError, parseCommand } from '../../../src/slack/parse-command.js';
import { BACKUPS_PER_PAGE, buildBackupList } from '../../../src/slack/views/backup-list.js';
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

  it('pages a thousand backups: 25 newest first, which ones of how many, the command for the next page, within ~12,000 characters', () => {
    const many: BackupListItemView[] = Array.from({ length: 1000 }, (_, i) => ({
      ...listItems[0]!,
      id: `production-eu-west-with-a-long-name-20261117t0300${String(i).padStart(4, '0')}z-7f3a`,
      completedAt: new Date(Date.parse('2026-11-24T03:00:00Z') - i * 3600_000).toISOString(),
      pachydermVersion: '2.11.3-rc.1+build.20261117.abcdef0123456789abcdef0123456789',
    }));
    const first = buildBackupList({ ...cluster, backups: many, now: NOW });
    expect(blockKitProblems(first)).toEqual([]);
    const text = allText(first).join('\n');
    expect([...text.matchAll(/`production-eu-west-with-a-long-name-\S+`/g)].map((m) => m[0])).toEqual(many.slice(0, BACKUPS_PER_PAGE).map((b) => `\`${b.id}\``));
    expect(text).toContain('1–25 of 1,000 backups (page 1 of 40), newest first · older: `/pachbackup list prod 2`');
    expect(text).not.toContain('…and');

    const second = allText(buildBackupList({ ...cluster, backups: many, now: NOW, page: 2 })).join('\n');
    expect(second).toContain(`\`${many[25]!.id}\``);
    expect(second).not.toContain(`\`${many[24]!.id}\``);
    expect(second).toContain('26–50 of 1,000 backups (page 2 of 40), newest first · older: `/pachbackup list prod 3` · newer: `/pachbackup list prod 1`');
    const last = buildBackupList({ ...cluster, backups: many, now: NOW, page: 40 });
    expect(allText(last).join('\n')).toContain(`\`${many[999]!.id}\``);
    expectGolden('backup-list-page-2', buildBackupList({ ...cluster, backups: many.slice(0, 30), now: NOW, page: 2 }));
  });

  it('says how many pages there are when asked for one past the last', () => {
    const message = buildBackupList({ ...cluster, backups: listItems, now: NOW, page: 3 });
    expect(message.text).toBe('Production has 3 backups in 1 page: there is no page 3.');
    expect(allText(message).join('\n')).toContain('`/pachbackup list prod` shows them');
  });

  it('reads a page number after the cluster, and refuses anything else there', () => {
    const clusters = ['prod'];
    expect(parseCommand('list prod', clusters)).toEqual({ name: 'list', cluster: 'prod' });
    expect(parseCommand('list prod 3', clusters)).toEqual({ name: 'list', cluster: 'prod', page: 3 });
    expect(parseCommand('list prod 1', clusters)).toEqual({ name: 'list', cluster: 'prod' });
    for (const bad of ['list prod 0', 'list prod -1', 'list prod two', 'list prod 1.5', 'list prod 2 3']) {
      const parsed = parseCommand(bad, clusters);
      expect(isUsageError(parsed) && parsed.usage, bad).toBe('/pachbackup list <cluster> [page]');
    }
  });
});
