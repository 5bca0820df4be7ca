import { describe, expect, it } from 'vitest';
import { fitRobustLine, hasSpread, median, predictFit, quantile, type Sample } from '../../src/estimate/robust-fit.js';
import { seededRandom, uniform } from './random.js';

/** n samples of y = intercept + slope·x with ±noise (relative), x spread over [xLow, xHigh). */
function line(random: () => number, n: number, { intercept, slope, noise = 0.02, xLow = 1000, xHigh = 100_000 }: { intercept: number; slope: number; noise?: number; xLow?: number; xHigh?: number }): Sample[] {
  return Array.from({ length: n }, () => {
    const x = Math.round(uniform(random, xLow, xHigh));
    return { x, y: (intercept + slope * x) * (1 + uniform(random, -noise, noise)) };
  });
}

describe('median and quantile', () => {
  it('interpolate between order statistics, whatever the input order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([10, 0, 5], 0.25)).toBe(2.5);
    expect(quantile([7], 0.9)).toBe(7);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});

describe('a robust line fit', () => {
  it('recovers a known line when 20 % of the runs are wild outliers', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const random = seededRandom(seed);
      const samples = line(random, 40, { intercept: 8, slope: 0.0005 });
      // Every fifth run is wild: stuck for minutes, or absurdly fast (a clock hiccup).
      for (let i = 0; i < samples.length; i += 5) samples[i]!.y = random() < 0.7 ? samples[i]!.y * uniform(random, 5, 30) + 300 : samples[i]!.y * 0.05;
      const fit = fitRobustLine(samples);
      expect(fit.method).toBe('theil-sen');
      expect(fit.slope).toBeGreaterThan(0.0005 * 0.9);
      expect(fit.slope).toBeLessThan(0.0005 * 1.1);
      const at = predictFit(fit, 200_000); // beyond the sampled sizes: 108 s by the true line
      expect(at.expected).toBeGreaterThan(108 * 0.9);
      expect(at.expected).toBeLessThan(108 * 1.1);
    }
  });

  it('answers a constant for constant durations, with no spread', () => {
    const fit = fitRobustLine([10, 20, 30, 40, 50].map((x) => ({ x, y: 12 })));
    expect(fit).toMatchObject({ slope: 0, intercept: 12, residualLow: 0, residualHigh: 0 });
    expect(predictFit(fit, 1000)).toMatchObject({ expected: 12, low: 12, high: 12 });
  });

  it('falls back to the median with two points, or when x does not vary', () => {
    const two = fitRobustLine([
      { x: 1, y: 10 },
      { x: 100, y: 20 },
    ]);
    expect(two).toMatchObject({ method: 'median', slope: 0, intercept: 15, n: 2 });
    expect(predictFit(two, 1000).expected).toBe(15);
    expect(predictFit(two, 1000).low).toBeLessThan(15);
    expect(predictFit(two, 1000).high).toBeGreaterThan(15);

    const sameX = fitRobustLine([4, 5, 6, 50].map((y) => ({ x: 12, y })));
    expect(sameX).toMatchObject({ method: 'median', slope: 0, intercept: 5.5 });
    expect(fitRobustLine([])).toMatchObject({ method: 'median', n: 0, intercept: 0 });
    expect(predictFit(fitRobustLine([]), 10)).toMatchObject({ expected: 0, low: 0, high: 0 });
  });

  it('does not let a few odd sizes among many equal ones decide the slope', () => {
    // 12 pods every run but two; one of those two runs was slow for another reason.
    const samples = [...Array.from({ length: 18 }, (_, i) => ({ x: 12, y: 20 + (i % 3) })), { x: 13, y: 21 }, { x: 14, y: 95 }];
    expect(hasSpread(samples.map((s) => s.x))).toBe(false);
    const fit = fitRobustLine(samples);
    expect(fit.method).toBe('median');
    expect(predictFit(fit, 30).expected).toBe(21);
    // Sizes that barely move (a database growing by a few pages) give no slope either.
    expect(hasSpread([8_000_000, 8_008_192, 8_016_384, 8_024_576])).toBe(false);
    expect(hasSpread([1000, 2000, 3000, 3000, 4000])).toBe(true);
    expect(hasSpread([1000, 2000, 3000, 3000])).toBe(false); // half the runs at one size
  });

  it('never predicts a negative duration, nor a shorter one for more work', () => {
    const steep = fitRobustLine([
      { x: 100, y: 1 },
      { x: 200, y: 11 },
      { x: 300, y: 21 },
      { x: 400, y: 31 },
    ]);
    expect(steep.intercept).toBeLessThan(0);
    expect(predictFit(steep, 0)).toMatchObject({ expected: 0, low: 0, high: 0 });
    const falling = fitRobustLine([10, 20, 30, 40, 50].map((x) => ({ x, y: 100 - x })));
    expect(falling.slope).toBe(0);
    expect(predictFit(falling, 1e6).expected).toBe(70);
  });

  it('predicts durations (and range tops) that never fall as the size grows', () => {
    for (let seed = 100; seed < 130; seed++) {
      const random = seededRandom(seed);
      const fit = fitRobustLine(line(random, 12, { intercept: uniform(random, -5, 20), slope: uniform(random, 0, 0.001), noise: 0.3 }));
      const xs = Array.from({ length: 30 }, () => uniform(random, 0, 300_000)).sort((a, b) => a - b);
      const predictions = xs.map((x) => predictFit(fit, x));
      for (let i = 1; i < predictions.length; i++) {
        expect(predictions[i]!.expected).toBeGreaterThanOrEqual(predictions[i - 1]!.expected);
        expect(predictions[i]!.high).toBeGreaterThanOrEqual(predictions[i - 1]!.high);
      }
      for (const p of predictions) {
        expect(p.low).toBeGreaterThanOrEqual(0);
        expect(p.low).toBeLessThanOrEqual(p.expected);
        expect(p.high).toBeGreaterThanOrEqual(p.expected);
      }
    }
  });

  it('has a range holding about 80 % of the runs it was fitted on', () => {
    const random = seededRandom(7);
    const samples = line(random, 200, { intercept: 30, slope: 0.0002, noise: 0.25 });
    const fit = fitRobustLine(samples);
    const inside = samples.filter((s) => {
      const p = predictFit(fit, s.x);
      return s.y >= p.low && s.y <= p.high;
    }).length;
    expect(inside / samples.length).toBeGreaterThan(0.72);
    expect(inside / samples.length).toBeLessThan(0.88);
  });

  it('widens the range in proportion when predicting a run much longer than the fitted ones', () => {
    const random = seededRandom(3);
    const fit = fitRobustLine(line(random, 30, { intercept: 2, slope: 0.001, noise: 0.1, xLow: 10_000, xHigh: 20_000 }));
    const near = predictFit(fit, 15_000);
    const far = predictFit(fit, 150_000);
    expect(far.high - far.low).toBeGreaterThan(5 * (near.high - near.low));
  });
});
