import { describe, expect, it } from 'vitest';
import { buildClusterStatus } from '../../../src/slack/views/cluster-status.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { pausedStatus, unreachableStatus, upStatus } from './view-fixtures.js';

describe('cluster status', () => {
  it('renders an up, a paused and an unreachable cluster as in the golden file', () => {
    const message = buildClusterStatus([upStatus, pausedStatus, unreachableStatus]);
    expectGolden('cluster-status', message);
    expect(blockKitProblems(message)).toEqual([]);
    expect(message.text).toBe('Production: up; Staging: paused; Edge lab: unreachable');
  });

  it('shows pachd, workers not ready, and the last good backup with its age against now', () => {
    const text = allText(buildClusterStatus([upStatus])).join('\n');
    expect(text).toContain('*Production* (`prod`) · 🟢 Up');
    expect(text).toContain('1/1 ready\n`pachyderm/pachd:2.11.3`');
    expect(text).toContain('3 pipelines · 5/6 pods ready\nnot ready: `pipeline-images-montage-v1` 0/1');
    expect(text).toContain('`prod-20261124-030000`\n6 h 24 min ago');
    expect(text).toContain('Nothing running.');
  });

  it('shows a paused cluster with the operation running on it, and a cluster it cannot reach', () => {
    const text = allText(buildClusterStatus([pausedStatus, unreachableStatus])).join('\n');
    expect(text).toContain('⏸️ Paused');
    expect(text).toContain('🔄 Backup `staging-20261124-092800` by cli:alice@ops-1 since <!date^');
    expect(text).toContain('(2 min ago) · 🔄 Running');
    expect(text).toContain('⚠️ none yet');
    expect(text).toContain('⚠️ Unreachable');
    expect(text).toContain('⚠️ connect ECONNREFUSED 10.0.4.2:6443');
    expect(text).toContain('13 days ago');
  });

  it('stays within Slack limits for many clusters', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ ...upStatus, name: `c${i}`, displayName: `Cluster ${i}` }));
    const message = buildClusterStatus(many);
    expect(blockKitProblems(message)).toEqual([]);
    expect(allText(message).join('\n')).toContain('more blocks not shown');
  });
});
