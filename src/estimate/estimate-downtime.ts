import type { DowntimeEstimate } from './downtime-estimate.js';
import type { DowntimeHistory } from './history.js';
import { fitRobustLine, median, predictFit, quantile, RANGE_QUANTILES, smallSampleFactor, type FitPrediction, type RobustFit } from './robust-fit.js';
import { DOWNTIME_STEPS, type DowntimeSizes, type DowntimeStep, type DowntimeStepModel } from './step-features.js';

/**
 * What the coming backup's steps will take when there is no history to learn it from, as the cluster itself
 * shows it: the listing rate measured by the probe (one page of the cluster bucket), how fast this cluster's
 * pods start and may take to stop (their status conditions and grace periods), and whether the dumps leave the
 * pause (preflight's snapshot probe). What was not measured falls back to `DEFAULT_THROUGHPUT` and `NO_HISTORY_MODEL`.
 */
export interface ThroughputFallback {
  /** Objects per second one listing stream of the cluster bucket proceeds at. */
  listObjectsPerSecond: number;
  /** Bytes of database (as `pg_database_size` counts them) pg_dump gets through per second. */
  dumpBytesPerSecond: number;
  /** Key ranges listed at once (`backup.listConcurrency`); default 16. */
  listConcurrency?: number;
  /** Whether the dumps will come from snapshots after the resume (default) or be taken while paused. */
  snapshotsUsable?: boolean;
  /** The cluster's own pace. */
  pace?: ClusterPace;
}

/** How fast this cluster's pods come and go, read from the pods themselves (see `PachydermWorkloads.podPace`). */
export interface ClusterPace {
  /** pachd's current pod, PodScheduled → Ready: what the resume waits for. Whole seconds (Kubernetes' stamps). */
  pachdStartupSeconds?: number;
  /** The median PodScheduled → Ready of the pods the pause stops: how fast this cluster turns a pod around. */
  podStartupSeconds?: number;
  /** The longest terminationGracePeriodSeconds among them: how long a pod that ignores SIGTERM holds the pause. */
  maxGraceSeconds?: number;
}

const MIB = 1024 * 1024;

/**
 * Rates assumed when nothing was measured. Listing: S3 returns 1000 keys per ListObjectsV2 page in ~0.1–0.3 s,
 * so ~5000 objects/s per stream. Dumping (only where the dumps fall into the pause): pg_dump's custom format
 * compresses on one core per database at ~30–100 MB/s of table data, and `pg_database_size` also counts
 * indexes, which are dumped as one line each — 40 MiB of database per second is on the safe side.
 */
export const DEFAULT_THROUGHPUT: ThroughputFallback = { listObjectsPerSecond: 5000, dumpBytesPerSecond: 40 * MIB };

/**
 * The no-history model of each downtime step, from what the cluster shows:
 * - pause: the scale calls and watch (`apiSeconds`), then the pods stopping. Kubernetes sends SIGTERM and removes
 *   a pod once its containers exit — Pachyderm's exit promptly — so a stop takes about one kubelet turnaround,
 *   which the cluster shows in how long its pods took to start (`podStartupSeconds`); a pod that ignores SIGTERM
 *   is killed at its grace period, the top of the range. Unknown pace: `unknownStopSeconds`.
 * - resume: the scale calls, then pachd starting — exactly what its current pod took (`pachdStartupSeconds`),
 *   within half to twice that, plus the second Kubernetes' timestamps round to. Unknown: `unknownStartupSeconds`.
 * - delta copy: the cluster bucket's pages, listed `listConcurrency` ranges at once at the measured rate, plus
 *   `fixedSeconds` for the first pages and copying what arrived since the pre-copy.
 * - snapshot: exporting a snapshot per database, a few round trips — unless the dumps fall into the pause.
 * Each range is the sum of the steps' ranges: wide where the cluster says it may be (a grace period), narrow
 * where it was measured.
 */
export const NO_HISTORY_MODEL = {
  apiSeconds: 0.3,
  perPodSeconds: 0.02,
  unknownStopSeconds: 5,
  unknownStartupSeconds: 15,
  defaultGraceSeconds: 30,
  /** Seconds Kubernetes' condition timestamps may be off by. */
  timestampSeconds: 1,
  delta: { fixedSeconds: 0.2 },
  snapshot: { expectedSeconds: 0.2, lowSeconds: 0.02, highSeconds: 1 },
  dump: { fixedSeconds: 2 },
  /** Where a rate was assumed or measured once: half to twice the expected time. */
  range: { low: 0.5, high: 2 },
} as const;

/** Past runs a step needs before its own fit replaces the no-history model. */
export const MIN_HISTORY_RUNS = 3;

/** The inputs of an estimate. */
export interface EstimateInput {
  history: DowntimeHistory;
  /** The coming run's sizes (from the probe). */
  upcoming: DowntimeSizes;
  fallback: ThroughputFallback;
  /** Default `MIN_HISTORY_RUNS`. */
  minRuns?: number;
}

/** How one step was estimated, for `estimate --json` and for judging the model. */
export interface StepEstimate extends FitPrediction {
  step: DowntimeStep;
  title: string;
  /** The size the prediction is for. */
  x: number;
  basis: 'history' | 'throughput';
  /** The fit, when from history. */
  fit?: RobustFit;
  /** Seconds the range adds below and above because few past runs were of about the coming size (see `sparseBand`). */
  sparse: { below: number; above: number };
}

/** Whether a past run's size is near enough the coming one's (within a factor of two) to say what it will take. */
export function isComparableSize(past: number, coming: number): boolean {
  return coming <= 0 ? past === coming : past >= coming / 2 && past <= coming * 2;
}

/**
 * The band a step's prediction gets when fewer than `minRuns` past runs were of about the coming size: then its
 * time there was measured once or twice, and the fit's residuals — measured where the other runs were, often
 * much smaller — say little about how it varies there. Such a step gets the band of a rate measured once,
 * half to twice the expected time (`NO_HISTORY_MODEL.range`), added in quadrature to the fit's. Measured on the
 * bench (2026-12-03): after two backups at 2,400 objects and one at 24,000, the next one at 24,000 took 0.5 s
 * less than that one, its delta copy 0.64 s against 1.00 s; the fit's own band put it outside the range.
 */
function sparseBand(expected: number, comparableRuns: number, minRuns: number): { below: number; above: number } {
  if (comparableRuns >= minRuns) return { below: 0, above: 0 };
  const { low, high } = NO_HISTORY_MODEL.range;
  return { below: (1 - low) * expected, above: (high - 1) * expected };
}

/** An estimate, with how each step was estimated and how the range was made. */
export interface DetailedEstimate {
  estimate: DowntimeEstimate;
  steps: StepEstimate[];
  /**
   * `total-residuals`: every step from history and enough complete past runs — the range (and the time
   * between steps) from the residuals of past runs' whole downtimes; `sum-of-steps`: the steps' ranges added.
   */
  range: 'total-residuals' | 'sum-of-steps';
}

/** A step's no-history prediction for `sizes`, seconds, with its range. */
export function throughputSeconds(step: DowntimeStep, sizes: DowntimeSizes, fallback: ThroughputFallback): { expected: number; low: number; high: number } {
  const m = NO_HISTORY_MODEL;
  const pace = fallback.pace ?? {};
  const api = m.apiSeconds + m.perPodSeconds * sizes.pods;
  const spread = (expected: number) => ({ expected, low: expected * m.range.low, high: expected * m.range.high });
  switch (step) {
    case 'pause': {
      const stop = pace.podStartupSeconds ?? m.unknownStopSeconds;
      const grace = pace.maxGraceSeconds ?? m.defaultGraceSeconds;
      return { expected: api + stop, low: api, high: api + Math.max(grace, m.range.high * stop) + m.timestampSeconds };
    }
    case 'resume': {
      const startup = pace.pachdStartupSeconds ?? m.unknownStartupSeconds;
      return {
        expected: api + startup,
        low: api + Math.max(0, startup - m.timestampSeconds) * m.range.low,
        high: api + (startup + m.timestampSeconds) * m.range.high,
      };
    }
    case 'delta-copy': {
      const perStream = positive(fallback.listObjectsPerSecond, DEFAULT_THROUGHPUT.listObjectsPerSecond);
      const streams = Math.max(1, fallback.listConcurrency ?? 16);
      const pageSeconds = 1000 / perStream;
      const pages = Math.max(1, Math.ceil(sizes.objects / 1000 / streams));
      return spread(m.delta.fixedSeconds + pages * pageSeconds);
    }
    case 'snapshot':
      if (fallback.snapshotsUsable === false) return spread(m.dump.fixedSeconds + sizes.databaseBytes / positive(fallback.dumpBytesPerSecond, DEFAULT_THROUGHPUT.dumpBytesPerSecond));
      return { expected: m.snapshot.expectedSeconds, low: m.snapshot.lowSeconds, high: m.snapshot.highSeconds };
  }
}

const positive = (value: number, otherwise: number) => (Number.isFinite(value) && value > 0 ? value : otherwise);
/** Milliseconds are more precision than anyone reads, and keep the JSON free of 0.30000000000000004. */
const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/**
 * Estimates the coming backup's downtime, step by step, then in total.
 *
 * Each downtime step with at least `minRuns` past samples gets its own robust fit (Theil–Sen of duration on
 * the step's size, see step-features.ts) evaluated at the coming size; a step with fewer uses the no-history
 * model (`throughputSeconds`: from what the cluster shows, with its own range) and makes the whole estimate's
 * basis `throughput`.
 *
 * The total and its range: when every step is from history and at least `minRuns` past runs have every step
 * and a recorded downtime, the residuals of those runs' whole downtimes against their summed step fits are
 * used — expected = Σ steps + their median, range = their 10th…90th percentiles, widened as a step's band is
 * (for few runs, `smallSampleFactor`; in proportion when the coming run is longer than the typical one; by the
 * steps' slope uncertainties when its sizes lie away from the past runs' — see `predictFit`). That is better
 * than adding the steps' ranges: it measures exactly what is announced (pause to pachd ready, including the
 * moments between steps), and it knows how the steps vary together (a slow node slows them all; adding 80 %
 * bands of independently varying steps would give a band far wider than 80 %). Otherwise the steps' ranges are
 * added: wider than needed, which is the right side to err on with little to go on.
 *
 * Measured on simulated histories (test/estimate/estimate-downtime.test.ts), the next run falls inside the
 * range ~75–80 % of the time, from 5 past runs on.
 */
export function estimateDowntimeWithDetail(input: EstimateInput): DetailedEstimate {
  const { history, upcoming, fallback } = input;
  const minRuns = input.minRuns ?? MIN_HISTORY_RUNS;
  const used = new Set<string>();
  const fits = new Map<DowntimeStep, RobustFit>();

  const steps: StepEstimate[] = DOWNTIME_STEPS.map((model: DowntimeStepModel): StepEstimate => {
    const x = upcoming[model.feature];
    const runs = history.runs.filter((r) => r.sizes[model.feature] !== undefined && r.seconds[model.step] !== undefined);
    if (runs.length >= minRuns) {
      const fit = fitRobustLine(runs.map((r) => ({ x: r.sizes[model.feature]!, y: r.seconds[model.step]! })));
      fits.set(model.step, fit);
      for (const r of runs) used.add(r.runId);
      const prediction = predictFit(fit, x);
      const sparse = sparseBand(prediction.expected, runs.filter((r) => isComparableSize(r.sizes[model.feature]!, x)).length, minRuns);
      return {
        step: model.step,
        title: model.title,
        x,
        basis: 'history',
        fit,
        ...prediction,
        low: Math.max(0, prediction.expected - Math.hypot(prediction.expected - prediction.low, sparse.below)),
        high: prediction.expected + Math.hypot(prediction.high - prediction.expected, sparse.above),
        sparse,
      };
    }
    const { expected, low, high } = throughputSeconds(model.step, upcoming, fallback);
    return { step: model.step, title: model.title, x, basis: 'throughput', expected, low, high, slopeUncertainty: { below: 0, above: 0 }, sparse: { below: 0, above: 0 } };
  });

  const sum = (pick: (s: StepEstimate) => number) => steps.reduce((n, s) => n + pick(s), 0);
  const fromHistory = steps.every((s) => s.basis === 'history');
  let total = { expected: sum((s) => s.expected), low: sum((s) => s.low), high: sum((s) => s.high) };
  let range: DetailedEstimate['range'] = 'sum-of-steps';

  if (fromHistory) {
    const complete = history.runs.filter((r) => r.downtimeSeconds !== null && DOWNTIME_STEPS.every((m) => r.sizes[m.feature] !== undefined && r.seconds[m.step] !== undefined));
    if (complete.length >= minRuns) {
      const predicted = complete.map((r) => DOWNTIME_STEPS.reduce((n, m) => n + predictFit(fits.get(m.step)!, r.sizes[m.feature]!).expected, 0));
      const residuals = complete.map((r, i) => r.downtimeSeconds! - predicted[i]!);
      const middle = median(residuals);
      const typical = median(predicted);
      const scale = (typical > 0 ? Math.max(1, total.expected / typical) : 1) * smallSampleFactor(complete.length, 2);
      const expected = Math.max(0, total.expected + middle);
      // The steps' slopes are estimated independently: their uncertainties add in quadrature, and so do the
      // bands of steps that few past runs of the coming size stand behind (`sparseBand`).
      const slopeBelow = Math.hypot(...steps.flatMap((s) => [s.slopeUncertainty.below, s.sparse.below]));
      const slopeAbove = Math.hypot(...steps.flatMap((s) => [s.slopeUncertainty.above, s.sparse.above]));
      total = {
        expected,
        low: Math.max(0, expected - Math.hypot(scale * Math.max(0, middle - quantile(residuals, RANGE_QUANTILES.low)), slopeBelow)),
        high: expected + Math.hypot(scale * Math.max(0, quantile(residuals, RANGE_QUANTILES.high) - middle), slopeAbove),
      };
      range = 'total-residuals';
    }
  }

  return {
    estimate: {
      expectedSeconds: round(total.expected),
      lowSeconds: round(Math.min(total.low, total.expected)),
      highSeconds: round(Math.max(total.high, total.expected)),
      basis: fromHistory ? 'history' : 'throughput',
      runs: used.size,
      perStep: steps.map((s) => ({ step: s.step, title: s.title, expectedSeconds: round(s.expected) })),
    },
    steps,
    range,
  };
}

/** `estimateDowntimeWithDetail`'s estimate alone: what confirmations, announcements and `estimate` show. */
export function estimateDowntime(input: EstimateInput): DowntimeEstimate {
  return estimateDowntimeWithDetail(input).estimate;
}
