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

  it('says what is missing when Kubernetes answers but pachd\'s Deployment is not there, not "unreachable"', () => {
    const missing = { ...upStatus, pachd: undefined, missing: 'Deployment pachd not found in namespace pachyderm — check the cluster\'s kubernetes.namespace' };
    const message = buildClusterStatus([missing]);
    const text = allText(message).join('\n');
    expect(text).toContain('❓ Deployment missing');
    expect(text).toContain('❓ Deployment pachd not found in namespace pachyderm');
    expect(text).not.toMatch(/unreachable/i);
    expect(message.text).toBe('Production: deployment missing');
    expectGolden('cluster-status-missing', message);
  });

  it('shows a run that has finished but still holds the cluster as finished, not running', () => {
    const finished = { ...pausedStatus, paused: false, pachd: { replicas: 1, ready: 1 }, running: { ...pausedStatus.running!, phase: 'succeeded' as const } };
    const text = allText(buildClusterStatus([finished])).join('\n');
    expect(text).toContain('✅ Succeeded: backup `staging-20261124-092800` by cli:alice@ops-1 has just finished');
    expect(text).not.toContain('🔄');
  });

  it('sums up 41 clusters one line each, those needing attention first, every cluster whole, within Slack limits', () => {
    const many = Array.from({ length: 41 }, (_, i) => ({ ...upStatus, name: `cluster-${i}`, displayName: `Cluster number ${i}` }));
    many[30] = { ...unreachableStatus, name: 'cluster-30', displayName: 'Cluster number 30' };
    many[40] = { ...pausedStatus, name: 'cluster-40', displayName: 'Cluster number 40' };
    const message = buildClusterStatus(many);
    expect(blockKitProblems(message)).toEqual([]);
    const text = allText(message).join('\n');
    expect(text).not.toContain('not shown');
    expect(text).toContain('*41 clusters* · 🟢 Up 39 · ⚠️ Unreachable 1 · ⏸️ Paused 1');
    for (const c of many) expect(text).toContain(`*${c.displayName}* (\`${c.name}\`)`);
    expect(text.indexOf('`cluster-30`')).toBeLessThan(text.indexOf('`cluster-40`'));
    expect(text.indexOf('`cluster-40`')).toBeLessThan(text.indexOf('`cluster-0`'));
    expect(text).toContain('⚠️ Unreachable · *Cluster number 30* (`cluster-30`) · last good backup 13 days ago · nothing running');
    expect(text).toContain('⏸️ Paused · *Cluster number 40* (`cluster-40`) · ⚠️ no good backup yet · 🔄 backup running since <!date^');
    expect(message.blocks.at(-1)).toMatchObject({ type: 'context' });
    expect(allText({ blocks: [message.blocks.at(-1)!] }).join('')).toContain('`/pachbackup status &lt;cluster&gt;` shows one in full');
    expectGolden('cluster-status-many', message);
  });

  it('names how many more clusters there are past what one message holds, never cutting a line', () => {
    const many = Array.from({ length: 400 }, (_, i) => ({ ...upStatus, name: `c${i}`, displayName: `A rather long cluster display name ${i}` }));
    const message = buildClusterStatus(many);
    expect(blockKitProblems(message)).toEqual([]);
    const text = allText({ blocks: message.blocks }).join('\n');
    const shown = [...text.matchAll(/\(`c(\d+)`\) · last good backup 6 h 24 min ago · nothing running/g)].length;
    expect(shown).toBeGreaterThan(20);
    expect(text).toContain(`_…and ${400 - shown} more clusters_`);
  });
});
