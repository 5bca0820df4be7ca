import { describe, expect, it } from 'vitest';
import { buildRunHistory } from '../../../src/slack/views/run-history.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { historyItems } from './view-fixtures.js';

const cluster = { cluster: 'prod', clusterDisplayName: 'Production' };

describe('run history', () => {
  it('renders as in the golden file', () => {
    const message = buildRunHistory({ ...cluster, runs: historyItems });
    expectGolden('run-history', message);
    expect(blockKitProblems(message)).toEqual([]);
  });

  it('shows each run with estimated against real downtime, the error in percent and whether it was in range', () => {
    const text = allText(buildRunHistory({ ...cluster, runs: historyItems })).join('\n');
    expect(text).toContain('paused 3 min 12 s · estimated 4 min (3–5 min) · −20% ✅ in range');
    expect(text).toContain('paused 3 min 51 s · estimated 3 min 20 s (2 min 30 s–3 min 40 s) · +16% ⚠️ 11 s longer than the range');
    expect(text).toContain('🚫 `prod-20261121-090000` · backup · failed preflight (nothing changed)');
    expect(text).toContain('not paused · estimated 3 min 40 s (2 min 50 s–4 min 30 s)');
    expect(text).toContain('❌ preflight: pg_dump 15.2 is older than the server (16.4)');
    expect(text).toContain('paused 2 min 21 s before it failed · ❌ delta-copy');
    // Runs that paused and stopped before measuring their downtime still show their pause.
    expect(text).toContain('🛑 `prod-20261122-100000` · backup · cancelled');
    expect(text).toContain('paused about 42.0 s before it was cancelled');
    expect(text).toContain('⚠️ paused, and resuming it failed when it stopped: left paused');
    expect(text.match(/not paused/g)).toHaveLength(1); // only the run that failed preflight
    // Newest first.
    expect(text.indexOf('prod-20261124-030000')).toBeLessThan(text.indexOf('prod-20261121-090000'));
    expect(text.indexOf('prod-20261121-090000')).toBeLessThan(text.indexOf('prod-20261117-030000'));
  });

  it('sums up how good the estimates have been', () => {
    // Only completed runs count: a failed run's short pause says nothing about the estimate.
    expect(allText(buildRunHistory({ ...cluster, runs: historyItems })).join('\n')).toContain('estimates: median error 18%, 1 of 2 within range');
  });

  it('says so when there are no runs yet', () => {
    expect(buildRunHistory({ ...cluster, runs: [] }).text).toBe('No runs on Production yet.');
  });
});
