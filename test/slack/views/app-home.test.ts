import { describe, expect, it } from 'vitest';
import { buildAppHome } from '../../../src/slack/views/app-home.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { NOW, pausedStatus, unreachableStatus, upStatus } from './view-fixtures.js';

describe('App Home', () => {
  it('renders each cluster and the empty state as in the golden files', () => {
    const home = buildAppHome([upStatus, pausedStatus, unreachableStatus]);
    expect(home.type).toBe('home');
    expectGolden('app-home', home);
    expectGolden('app-home-empty', buildAppHome([], NOW));
    expect(blockKitProblems({ blocks: home.blocks }, 100)).toEqual([]);
  });

  it("shows each cluster's state, last good backup with its age and the running operation", () => {
    const text = allText({ blocks: buildAppHome([upStatus, pausedStatus]).blocks }).join('\n');
    expect(text).toContain('*Production* (`prod`) · 🟢 Up');
    expect(text).toContain('6 h 24 min ago');
    expect(text).toContain('*Staging* (`staging`) · ⏸️ Paused');
    expect(text).toContain('🔄 Backup `staging-20261124-092800`');
    expect(text).toContain('Updated <!date^');
  });

  it('explains how to add a cluster when there is none', () => {
    const text = allText({ blocks: buildAppHome([]).blocks }).join('\n');
    expect(text).toContain('*No clusters yet.*');
    expect(blockKitProblems({ blocks: buildAppHome([]).blocks }, 100)).toEqual([]);
  });

  it('sums up 60 clusters one line each, every one named, without a stray divider or "not shown"', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ ...upStatus, name: `c${i}`, displayName: `Cluster ${i}` }));
    const blocks = buildAppHome(many).blocks;
    expect(blockKitProblems({ blocks }, 100)).toEqual([]);
    const text = allText({ blocks }).join('\n');
    for (const c of many) expect(text).toContain(`*${c.displayName}* (\`${c.name}\`)`);
    expect(text).not.toContain('not shown');
    expect(blocks.at(-1)!.type).not.toBe('divider');
    expect(blocks.filter((b) => b.type === 'divider')).toHaveLength(1);
  });

  it('shows a finished run holding the cluster as finished, not with 🔄', () => {
    const finished = { ...upStatus, running: { runId: 'prod-20261124-090000', kind: 'backup', requestedBy: 'U0OPS1', since: '2026-11-24T09:00:00.000Z', phase: 'succeeded' as const } };
    const text = allText({ blocks: buildAppHome([finished]).blocks }).join('\n');
    expect(text).toContain('✅ Succeeded: backup `prod-20261124-090000`');
    expect(text).not.toContain('🔄');
  });
});
