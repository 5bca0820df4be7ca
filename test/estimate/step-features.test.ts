import { describe, expect, it } from 'vitest';
import { DOWNTIME_STEPS, sampleFromRows, type StepRow } from '../../src/estimate/step-features.js';

const row = (name: string, fields: Partial<StepRow> = {}): StepRow => ({ name, durationMs: null, bytes: null, objects: null, output: null, ...fields });

describe('the features of a past run', () => {
  it('are read from its steps as the backup recorded them', () => {
    const sample = sampleFromRows([
      row('preflight', { durationMs: 900, output: { preflight: { databaseBytes: { pachyderm: 7_000_000, dex: 3_000_000 }, serverVersion: '15.8' } } }),
      row('pause', { durationMs: 4200, objects: 14, output: { pause: { pausedAt: '2026-01-01T03:00:00Z' } } }),
      row('snapshot', { durationMs: 61_500, bytes: 2_500_000 }),
      row('delta-copy', { durationMs: 8000, bytes: 4096, objects: 3, output: { delta: { listed: 120_000, copied: 3, copiedBytes: 4096 }, inventory: { objects: 120_000 } } }),
      row('resume', { durationMs: 17_250, output: { resume: { resumedAt: '2026-01-01T03:01:31Z' } } }),
    ]);
    expect(sample).toEqual({
      sizes: { pods: 14, databaseBytes: 10_000_000, objects: 120_000 },
      seconds: { pause: 4.2, snapshot: 61.5, 'delta-copy': 8, resume: 17.25 },
    });
  });

  it('leave out what a run did not record, rather than guess it', () => {
    const sample = sampleFromRows([
      row('preflight', { output: { preflight: { databaseBytes: { pachyderm: 'big' } } } }),
      row('pause', { durationMs: 3000 }),
      row('delta-copy', { durationMs: 2000, output: { inventory: { objects: 77 } } }),
    ]);
    expect(sample).toEqual({ sizes: { objects: 77 }, seconds: { pause: 3, 'delta-copy': 2 } });
    expect(sampleFromRows([])).toEqual({ sizes: {}, seconds: {} });
  });

  it('cover the four downtime steps in run order', () => {
    expect(DOWNTIME_STEPS.map((s) => s.step)).toEqual(['pause', 'delta-copy', 'snapshot', 'resume']);
  });
});
