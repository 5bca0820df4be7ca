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

  it('stays within the Home tab limit for many clusters', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ ...upStatus, name: `c${i}` }));
    expect(blockKitProblems({ blocks: buildAppHome(many).blocks }, 100)).toEqual([]);
  });
});
