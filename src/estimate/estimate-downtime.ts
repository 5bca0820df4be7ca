import type { DowntimeEstimate } from './downtime-estimate.js';
import type { DowntimeHistory } from './history.js';
import { fitRobustLine, median, predictFit, quantile, RANGE_QUANTILES, smallSampleFactor, type FitPrediction, type RobustFit } from './robust-fit.js';
import { DOWNTIME_STEPS, type DowntimeSizes, type DowntimeStep, type DowntimeStepModel } from './step-features.js';

/**
 * How fast the coming backup's work goes when there is no history to learn it from: the listing rate is
 * measured by the probe (one page of the cluster bucket); the dump rate is an assumption unless measured.
 */
export interface ThroughputFallback {
  /** Objects per second a listing of the cluster bucket proceeds at. */
  listObjectsPerSecond: number;
  /** Bytes of database (as `pg_database_size` counts them) pg_dump gets through per second. */
  dumpBytesPerSecond: number;
}

const MIB = 1024 * 1024;

/**
 * Rates assumed when nothing was measured. Listing: S3 returns 1000 keys per ListObjectsV2 page in ~0.1–0.3 s,
 * and the delta copy lists the cluster bucket and the pool side by side, so ~5000 objects/s. Dumping: pg_dump's
 * custom format compresses on one core per database at ~30–100 MB/s of table data, and `pg_database_size`
 * also counts indexes, which are dumped as one line each — 40 MiB of database per second is on the safe side.
 */
export const DEFAULT_THROUGHPUT: ThroughputFallback = { listObjectsPerSecond: 5000, dumpBytesPerSecond: 40 * MIB };

/**
 * The no-history model of each downtime step: what a real cluster takes (the sandbox is far quicker). Pods
 * stop in parallel, but each workload is scaled with its own call and Pachyderm's workers finish their datum
 * before exiting, so the pause allows 5 s plus 1 s per pod. The resume scales the same workloads back, then
 * waits for pachd to be ready: ~15 s of start-up (connecting to PostgreSQL and the object store, migrations
 * check, readiness probe period) plus 0.1 s per pod of scale calls. A dump starts with ~2 s of connecting,
 * locking every table and reading the catalog; the delta copy with ~1 s for the first pages of both listings
 * and the inventory upload.
 */
export const NO_HISTORY_MODEL = {
  pause: { fixedSeconds: 5, perPodSeconds: 1 },
  resume: { fixedSeconds: 15, perPodSeconds: 0.1 },
  dump: { fixedSeconds: 2 },
  delta: { fixedSeconds: 1 },
  /** The no-history range: half to twice the expected time (a guess, and it says so). */
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

/** A step's no-history prediction for `sizes`, seconds. */
export function throughputSeconds(step: DowntimeStep, sizes: DowntimeSizes, fallback: ThroughputFallback): number {
  switch (step) {
    case 'pause':
      return NO_HISTORY_MODEL.pause.fixedSeconds + NO_HISTORY_MODEL.pause.perPodSeconds * sizes.pods;
    case 'resume':
      return NO_HISTORY_MODEL.resume.fixedSeconds + NO_HISTORY_MODEL.resume.perPodSeconds * sizes.pods;
    case 'dump-databases':
      return NO_HISTORY_MODEL.dump.fixedSeconds + sizes.databaseBytes / positive(fallback.dumpBytesPerSecond, DEFAULT_THROUGHPUT.dumpBytesPerSecond);
    case 'delta-copy':
      return NO_HISTORY_MODEL.delta.fixedSeconds + sizes.objects / positive(fallback.listObjectsPerSecond, DEFAULT_THROUGHPUT.listObjectsPerSecond);
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
 * model (`throughputSeconds`, range ×0.5…×2) and makes the whole estimate's basis `throughput`.
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
      return { step: model.step, title: model.title, x, basis: 'history', fit, ...predictFit(fit, x) };
    }
    const expected = throughputSeconds(model.step, upcoming, fallback);
    return {
      step: model.step,
      title: model.title,
      x,
      basis: 'throughput',
      expected,
      low: expected * NO_HISTORY_MODEL.range.low,
      high: expected * NO_HISTORY_MODEL.range.high,
      slopeUncertainty: { below: 0, above: 0 },
    };
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
      // The steps' slopes are estimated independently: their uncertainties add in quadrature.
      const slopeBelow = Math.hypot(...steps.map((s) => s.slopeUncertainty.below));
      const slopeAbove = Math.hypot(...steps.map((s) => s.slopeUncertainty.above));
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
