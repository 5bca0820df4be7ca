import { describe, expect, it } from 'vitest';
import { buildEstimateView } from '../../../src/slack/views/estimate-view.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { estimate, throughputEstimate } from './view-fixtures.js';

describe('estimate view', () => {
  it('renders as in the golden file', () => {
    const message = buildEstimateView({ cluster: 'prod', clusterDisplayName: 'Production', estimate });
    expectGolden('estimate', message);
    expect(blockKitProblems(message)).toEqual([]);
  });

  it('gives the total with its range, the basis and each downtime step', () => {
    const text = allText(buildEstimateView({ cluster: 'prod', clusterDisplayName: 'Production', estimate })).join('\n');
    expect(text).toContain('would pause Pachyderm for *about 4 min (3–5 min)*');
    expect(text).toContain('from 12 past runs');
    expect(text).toContain('• Dump the databases — 2 min');
    expect(text).toContain('• Pause Pachyderm — 20 s');
    const fresh = allText(buildEstimateView({ cluster: 'prod', clusterDisplayName: 'Production', estimate: throughputEstimate })).join('\n');
    expect(fresh).toContain('about 75 s (40 s–3 min)');
    expect(fresh).toContain('no history yet: from measured throughput');
  });
});
