import type { DowntimeEstimate } from './view-models.js';

/**
 * How estimated downtime is worded. Estimates are rounded the way people talk ("about 4 min (3–5 min)"); measured
 * durations keep their precision and go through `formatDuration`.
 */

/** An estimated length in round units: "45 s", "4 min", "1 h 20 min". */
export function formatEstimateSeconds(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 90) return `${Math.max(1, Math.round(s))} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A range in round units, sharing the unit where it can: "3–5 min", "40 s–2 min", "4 min" (when both ends agree). */
export function formatEstimateRange(lowSeconds: number, highSeconds: number): string {
  const low = formatEstimateSeconds(lowSeconds);
  const high = formatEstimateSeconds(highSeconds);
  if (low === high) return low;
  const lowMin = /^(\d+) min$/.exec(low);
  const highMin = /^(\d+) min$/.exec(high);
  if (lowMin && highMin) return `${lowMin[1]}–${highMin[1]} min`;
  const lowSec = /^(\d+) s$/.exec(low);
  const highSec = /^(\d+) s$/.exec(high);
  if (lowSec && highSec) return `${lowSec[1]}–${highSec[1]} s`;
  return `${low}–${high}`;
}

/** "about 4 min (3–5 min)", or "about 4 min" when the range is a single value. */
export function describeEstimate(estimate: Pick<DowntimeEstimate, 'expectedSeconds' | 'lowSeconds' | 'highSeconds'>): string {
  const expected = formatEstimateSeconds(estimate.expectedSeconds);
  const range = formatEstimateRange(estimate.lowSeconds, estimate.highSeconds);
  return range === expected ? `about ${expected}` : `about ${expected} (${range})`;
}

/**
 * A length to the second, for putting an estimate next to a measured downtime (where rounding to minutes would
 * make "3 min 51 s, estimated 3–4 min" look in range when it was not): "45 s", "3 min 40 s", "4 min", "1 h 2 min".
 */
export function formatSecondsPrecise(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  return m % 60 === 0 ? `${m / 60} h` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "3 min 20 s (2 min 30 s–3 min 40 s)": an estimate to the second, to compare with a real downtime. */
export function describeEstimatePrecise(estimate: Pick<DowntimeEstimate, 'expectedSeconds' | 'lowSeconds' | 'highSeconds'>): string {
  const expected = formatSecondsPrecise(estimate.expectedSeconds);
  const low = formatSecondsPrecise(estimate.lowSeconds);
  const high = formatSecondsPrecise(estimate.highSeconds);
  if (low === high) return expected;
  const lowMin = /^(\d+) min$/.exec(low);
  const highMin = /^(\d+) min$/.exec(high);
  return lowMin && highMin ? `${expected} (${lowMin[1]}–${highMin[1]} min)` : `${expected} (${low}–${high})`;
}

/** Where the estimate comes from: "from 12 past runs" or "no history yet: from measured throughput". */
export function describeBasis(estimate: Pick<DowntimeEstimate, 'basis' | 'runs'>): string {
  if (estimate.basis === 'history') return `from ${estimate.runs} past run${estimate.runs === 1 ? '' : 's'}`;
  return 'no history yet: from measured throughput';
}

/** A real downtime against its estimate. */
export interface EstimateComparison {
  /** The actual downtime fell inside [low, high]. */
  withinRange: boolean;
  /** (actual − expected) / expected, in whole percent; positive means it took longer. Null when expected is 0. */
  errorPercent: number | null;
  /** "within the estimated range", "1 min longer than the range", "20 s shorter than the range". */
  verdict: string;
}

/** Compares a real downtime with its estimate (used by the summary, the run message and `history`). */
export function compareToEstimate(
  actualSeconds: number,
  estimate: Pick<DowntimeEstimate, 'expectedSeconds' | 'lowSeconds' | 'highSeconds'>,
): EstimateComparison {
  const errorPercent = estimate.expectedSeconds > 0 ? Math.round(((actualSeconds - estimate.expectedSeconds) / estimate.expectedSeconds) * 100) : null;
  if (actualSeconds > estimate.highSeconds) {
    return { withinRange: false, errorPercent, verdict: `${formatSecondsPrecise(actualSeconds - estimate.highSeconds)} longer than the range` };
  }
  if (actualSeconds < estimate.lowSeconds) {
    return { withinRange: false, errorPercent, verdict: `${formatSecondsPrecise(estimate.lowSeconds - actualSeconds)} shorter than the range` };
  }
  return { withinRange: true, errorPercent, verdict: 'within the estimated range' };
}

/** "+12%", "−8%", "±0%". */
export function formatErrorPercent(percent: number): string {
  if (percent === 0) return '±0%';
  return percent > 0 ? `+${percent}%` : `−${Math.abs(percent)}%`;
}
