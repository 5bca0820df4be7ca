/**
 * A robust straight line through (size, duration) samples, for downtime estimates (DESIGN.md, "Estimating
 * downtime"): Theil–Sen, which a few wild runs (a slow API server, a machine under load, a retried step) cannot
 * pull off course, with a range taken from its own residuals. Pure: no I/O, no clock.
 */

/** One past observation: `x` a size (pods, bytes, objects), `y` a duration in seconds. */
export interface Sample {
  x: number;
  y: number;
}

/** A fitted line and the spread of the samples around it. */
export interface RobustFit {
  /**
   * `theil-sen`: slope = median of the pairwise slopes, intercept = median of y − slope·x.
   * `median`: slope 0, intercept = median of y — with fewer than three samples, or when x has too little
   * spread for a slope to mean anything (see `hasSpread`).
   */
  method: 'theil-sen' | 'median';
  /** Seconds per unit of x; never negative (more work never takes less time: a negative slope is noise). */
  slope: number;
  intercept: number;
  /**
   * An 80 % confidence interval of the slope (Sen's, from the order statistics of the pairwise slopes); both
   * equal to `slope` for `median`. Predicting far from `centerX`, it is what the range must add for not
   * knowing the slope exactly — the residuals only measure the scatter around the line where there were runs.
   */
  slopeLow: number;
  slopeHigh: number;
  /** The median x: where the line is best known. */
  centerX: number;
  /** Samples fitted. */
  n: number;
  /**
   * The 10th and 90th percentiles of the residuals (y − fitted), seconds, times `smallSampleFactor`: an 80 %
   * band for the next run, distribution-free, so it keeps the long right tail durations have. The median
   * residual is 0 by construction (the intercept is a median), so `residualLow ≤ 0 ≤ residualHigh`. Both 0
   * for fewer than two samples.
   */
  residualLow: number;
  residualHigh: number;
  /** The fitted value at the median x: the size the residuals were typically measured at (see `predictFit`). */
  typical: number;
}

/** A prediction at one size, seconds; `low ≤ expected ≤ high`, none negative. */
export interface FitPrediction {
  expected: number;
  low: number;
  high: number;
  /** The seconds the slope's uncertainty alone puts below and above `expected` at this size (0 at `centerX`). */
  slopeUncertainty: { below: number; above: number };
}

/** The residual quantiles the range is made of. */
export const RANGE_QUANTILES = { low: 0.1, high: 0.9 } as const;
/** How far apart, as a fraction of the sizes' range, two runs must be for their pair to count towards the slope. */
const MIN_PAIR_SPREAD = 0.05;

/** The standard normal quantile of `RANGE_QUANTILES.high`: the slope's interval has the same 80 % coverage. */
const Z_80 = 1.2816;

/**
 * How much wider the next run's scatter is than the fitted runs' own residuals: a fitted line has absorbed
 * part of each residual (`parameters` of them), and a new run adds its own. For least squares the ratio of
 * the prediction error to the in-sample RMS residual is √((n+1)/(n−p)); used here as the same correction for
 * the residual quantiles (×2 for 3 runs, ×1.07 for 12, ×1.02 for 50). Measured on simulated histories it
 * brings the next run inside the 80 % band ~75–80 % of the time at every history length, instead of 55 %
 * with 3 runs.
 */
export function smallSampleFactor(n: number, parameters: number): number {
  return n > parameters ? Math.sqrt((n + 1) / (n - parameters)) : 1;
}

/** The median of `values` (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/**
 * The `q` quantile of `values` with linear interpolation between order statistics (Hyndman & Fan type 7, what
 * R, NumPy and spreadsheets use by default); NaN for none.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const below = Math.floor(position);
  const lower = sorted[below]!;
  const upper = sorted[Math.min(below + 1, sorted.length - 1)]!;
  return lower + (upper - lower) * (position - below);
}

/**
 * Whether the xs spread enough for a slope: at least three distinct values, no single value holding half the
 * samples or more, and a range of at least 5 % of the largest |x|. Theil–Sen only looks at pairs with
 * different x, so when nearly every sample shares one x (the pod count of a cluster rarely changes) the few
 * odd ones would decide the slope alone — one slow run among them and the line is wrong — and when x barely
 * moves (a database growing by a few pages between runs) every pairwise slope is noise divided by almost
 * nothing. The median is the honest answer then.
 */
export function hasSpread(xs: readonly number[]): boolean {
  if (xs.length < 3) return false;
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  if (counts.size < 3) return false;
  if (Math.max(...counts.values()) * 2 >= xs.length) return false;
  const largest = Math.max(...xs.map(Math.abs));
  return Math.max(...xs) - Math.min(...xs) >= 0.05 * largest;
}

/**
 * Fits duration against one size feature (Theil–Sen, or the median when there is no slope to find) and
 * measures the residual band. Non-finite samples are ignored.
 */
export function fitRobustLine(samples: readonly Sample[]): RobustFit {
  const points = samples.filter((s) => Number.isFinite(s.x) && Number.isFinite(s.y));
  const xs = points.map((p) => p.x);
  let method: RobustFit['method'] = 'median';
  let slope = 0;
  let slopeLow = 0;
  let slopeHigh = 0;
  if (hasSpread(xs)) {
    // Pairs whose sizes barely differ say nothing about the slope: their noise divided by almost nothing would
    // be a wild slope, harmless to the median but not to the interval's ends (two backups at 49.5 and 49.6 MiB
    // of database once put 1,074 s at the top of a 2 s estimate). Only pairs at least MIN_PAIR_SPREAD of the
    // sizes' range apart count, as `hasSpread` asks of the sizes as a whole; the extreme pair always does.
    const minApart = MIN_PAIR_SPREAD * (Math.max(...xs) - Math.min(...xs));
    const slopes: number[] = [];
    for (let i = 0; i < points.length; i++) {
      for (let j = i + 1; j < points.length; j++) {
        const a = points[i]!;
        const b = points[j]!;
        if (a.x !== b.x && Math.abs(b.x - a.x) >= minApart) slopes.push((b.y - a.y) / (b.x - a.x));
      }
    }
    slopes.sort((a, b) => a - b);
    method = 'theil-sen';
    slope = Math.max(0, median(slopes));
    // Sen (1968): with C = z·√Var(Kendall's S), Var = n(n−1)(2n+5)/18, the interval runs from the
    // ((N − C)/2)-th to the ((N + C)/2 + 1)-th of the N sorted pairwise slopes (1-based, rounded outwards).
    // Pairs tied (or nearly tied, above) in x are not among the N, which only widens it.
    const n = points.length;
    const c = Z_80 * Math.sqrt((n * (n - 1) * (2 * n + 5)) / 18);
    const at = (index: number) => slopes[Math.max(0, Math.min(slopes.length - 1, index))]!;
    slopeLow = Math.min(slope, Math.max(0, at(Math.floor((slopes.length - c) / 2) - 1)));
    slopeHigh = Math.max(slope, at(Math.ceil((slopes.length + c) / 2)));
  }
  const intercept = points.length === 0 ? 0 : median(points.map((p) => p.y - slope * p.x));
  const residuals = points.map((p) => p.y - (intercept + slope * p.x));
  const spread = residuals.length >= 2;
  const widen = smallSampleFactor(points.length, method === 'theil-sen' ? 2 : 1);
  return {
    method,
    slope,
    intercept,
    n: points.length,
    residualLow: spread ? widen * Math.min(0, quantile(residuals, RANGE_QUANTILES.low)) : 0,
    residualHigh: spread ? widen * Math.max(0, quantile(residuals, RANGE_QUANTILES.high)) : 0,
    slopeLow: method === 'theil-sen' ? slopeLow : slope,
    slopeHigh: method === 'theil-sen' ? slopeHigh : slope,
    centerX: points.length === 0 ? 0 : median(xs),
    typical: points.length === 0 ? 0 : Math.max(0, intercept + slope * median(xs)),
  };
}

/**
 * The fitted duration at size `x`, never negative, with its range, made of two parts added in quadrature (they
 * are independent):
 * - the residual band, widened in proportion when the prediction is longer than the durations the residuals
 *   were measured on (`fit.typical`) — spread in copy and dump times grows with their length (throughput
 *   varies, not a fixed number of seconds), so a band measured on 20 s dumps is too narrow for a 200 s one;
 *   it is never narrowed;
 * - the slope's uncertainty times the distance from `centerX` (`slopeUncertainty`): nothing near the middle
 *   of the past runs' sizes, what matters when the cluster has grown past anything seen.
 */
export function predictFit(fit: RobustFit, x: number): FitPrediction {
  // The band is built around the unclamped line, so that both ends move with x as the line does.
  const line = fit.intercept + fit.slope * x;
  const expected = Math.max(0, line);
  const scale = fit.typical > 0 ? Math.max(1, expected / fit.typical) : 1;
  const distance = x - fit.centerX;
  // Above the center, a steeper slope predicts more; below it, a shallower one does.
  const slopeUncertainty =
    distance >= 0
      ? { below: (fit.slope - fit.slopeLow) * distance, above: (fit.slopeHigh - fit.slope) * distance }
      : { below: (fit.slopeHigh - fit.slope) * -distance, above: (fit.slope - fit.slopeLow) * -distance };
  return {
    expected,
    low: Math.max(0, Math.min(expected, line - Math.hypot(scale * fit.residualLow, slopeUncertainty.below))),
    high: Math.max(expected, line + Math.hypot(scale * fit.residualHigh, slopeUncertainty.above)),
    slopeUncertainty,
  };
}
