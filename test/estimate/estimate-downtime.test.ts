import { describe, expect, it } from 'vitest';
import { estimateError } from '../../src/estimate/estimate-backup.js';
import { DEFAULT_THROUGHPUT, estimateDowntime, estimateDowntimeWithDetail, NO_HISTORY_MODEL, type ThroughputFallback } from '../../src/estimate/estimate-downtime.js';
import type { DowntimeHistory, PastRun } from '../../src/estimate/history.js';
import type { DowntimeSizes, DowntimeStep } from '../../src/estimate/step-features.js';
import { seededRandom, uniform } from './random.js';

const MB = 1_000_000;

/** A cluster's true step times (seconds) for given sizes. */
function trueSeconds(s: DowntimeSizes): Record<DowntimeStep, number> {
  // (Keys in the order the random noise is drawn in.)
  return { pause: 4 + 0.5 * s.pods, snapshot: 3 + s.databaseBytes / (50 * MB), 'delta-copy': 0.5 + s.objects / 8000, resume: 14 + 0.1 * s.pods };
}
const total = (seconds: Record<DowntimeStep, number>) => Object.values(seconds).reduce((a, b) => a + b, 0);
/** What the runner adds between the steps of a pause (checkpoints, events). */
const BETWEEN_STEPS = 0.3;

/** Sizes of the cluster at its i-th backup: growing data, a fixed set of pipelines. */
const sizesAt = (i: number): DowntimeSizes => ({ pods: 12, databaseBytes: 2000 * MB + i * 40 * MB, objects: 500_000 + i * 15_000 });

/** A past run at sizes `sizes` whose steps took `seconds` (each ×(1 ± noise)). */
function pastRun(i: number, sizes: DowntimeSizes, random: () => number, noise = 0.15): PastRun {
  const truth = trueSeconds(sizes);
  const seconds = Object.fromEntries(Object.entries(truth).map(([step, t]) => [step, t * (1 + uniform(random, -noise, noise))])) as Record<DowntimeStep, number>;
  return { runId: `run-${i}`, createdAt: new Date(Date.UTC(2026, 0, 1 + i)), phase: 'succeeded', downtimeSeconds: total(seconds) + BETWEEN_STEPS, sizes, seconds };
}

/** `n` past runs, newest first, as loadDowntimeHistory returns them. */
function history(n: number, random: () => number, noise = 0.15): DowntimeHistory {
  return { runs: Array.from({ length: n }, (_, i) => pastRun(i, sizesAt(i), random, noise)).reverse() };
}

const measured: ThroughputFallback = { listObjectsPerSecond: 6000, dumpBytesPerSecond: 40 * 1024 * 1024 };

describe('a downtime estimate from history', () => {
  it('predicts the next run from its sizes, step by step and in total', () => {
    const upcoming = sizesAt(20);
    const { estimate, range, steps } = estimateDowntimeWithDetail({ history: history(20, seededRandom(1)), upcoming, fallback: measured });
    const truth = trueSeconds(upcoming);
    expect(estimate).toMatchObject({ basis: 'history', runs: 20 });
    expect(range).toBe('total-residuals');
    expect(estimate.perStep.map((s) => [s.step, s.title])).toEqual([
      ['pause', 'Pause Pachyderm'],
      ['delta-copy', 'Copy new objects'],
      ['snapshot', 'Snapshot the databases'],
      ['resume', 'Resume Pachyderm'],
    ]);
    for (const s of estimate.perStep) expect(Math.abs(s.expectedSeconds - truth[s.step as DowntimeStep]) / truth[s.step as DowntimeStep]).toBeLessThan(0.1);
    expect(Math.abs(estimate.expectedSeconds - (total(truth) + BETWEEN_STEPS)) / total(truth)).toBeLessThan(0.05);
    expect(estimate.lowSeconds).toBeLessThan(estimate.expectedSeconds);
    expect(estimate.highSeconds).toBeGreaterThan(estimate.expectedSeconds);
    // The pod count never changed: nothing to fit a slope on, so those steps are their medians.
    expect(steps.find((s) => s.step === 'pause')!.fit!.method).toBe('median');
    expect(steps.find((s) => s.step === 'snapshot')!.fit!.method).toBe('theil-sen');
  });

  it('follows the data as it grows beyond the sizes seen so far, with a range widened for it', () => {
    // 1.5–1.7 times the largest run so far: the slopes matter, and each is known only so well.
    const upcoming: DowntimeSizes = { pods: 12, databaseBytes: 4000 * MB, objects: 1_200_000 };
    const truth = total(trueSeconds(upcoming)) + BETWEEN_STEPS;
    let covered = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const estimate = estimateDowntime({ history: history(15, seededRandom(seed)), upcoming, fallback: measured });
      expect(Math.abs(estimate.expectedSeconds - truth) / truth).toBeLessThan(0.2);
      if (estimate.lowSeconds <= truth && truth <= estimate.highSeconds) covered += 1;
    }
    expect(covered).toBeGreaterThanOrEqual(24);
  });

  it('is not thrown off by a few wild runs, and widens its range only as far as they were frequent', () => {
    const upcoming = sizesAt(15);
    const truth = total(trueSeconds(upcoming)) + BETWEEN_STEPS;
    const wild = (past: DowntimeHistory, runs: number[]) => {
      // A stuck pause, a dump behind a lock, a listing throttled by the store.
      const steps: DowntimeStep[] = ['pause', 'snapshot', 'delta-copy'];
      runs.forEach((i, k) => {
        const run = past.runs[i]!;
        run.seconds[steps[k % 3]!] = 900;
        run.downtimeSeconds = Object.values(run.seconds).reduce((a, b) => a + b, 0) + BETWEEN_STEPS;
      });
      return past;
    };
    // One run in five was wild: the expected time holds; the range's top says such runs happen.
    const often = estimateDowntime({ history: wild(history(15, seededRandom(3)), [1, 4, 7]), upcoming, fallback: measured });
    expect(Math.abs(often.expectedSeconds - truth) / truth).toBeLessThan(0.1);
    expect(often.highSeconds).toBeGreaterThan(truth * 2);
    // One in fifteen: it is neither in the expected time nor in the range.
    const once = estimateDowntime({ history: wild(history(15, seededRandom(3)), [4]), upcoming, fallback: measured });
    expect(Math.abs(once.expectedSeconds - truth) / truth).toBeLessThan(0.1);
    expect(once.highSeconds).toBeLessThan(truth * 1.3);
  });

  it('gives a range that holds most next runs, and not every one', () => {
    let inside = 0;
    const trials = 400;
    for (let trial = 0; trial < trials; trial++) {
      const random = seededRandom(1000 + trial);
      const past = history(12, random, 0.25);
      const next = pastRun(12, sizesAt(12), random, 0.25);
      const estimate = estimateDowntime({ history: past, upcoming: sizesAt(12), fallback: measured });
      if (next.downtimeSeconds! >= estimate.lowSeconds && next.downtimeSeconds! <= estimate.highSeconds) inside += 1;
    }
    // An 80 % band: about that often out of sample — neither a coin toss nor a band so wide it says nothing.
    expect(inside / trials).toBeGreaterThan(0.7);
    expect(inside / trials).toBeLessThan(0.9);
  });
});

describe('a downtime estimate from a short history at two sizes (the bench: two backups, then one at 10×)', () => {
  const MiB = 1024 * 1024;
  const run = (i: number, sizes: DowntimeSizes, [pause, delta, snapshot, resume]: number[], downtime: number): PastRun => ({
    runId: `bench-${i}`,
    createdAt: new Date(Date.UTC(2026, 11, 3, 19, i)),
    phase: 'succeeded',
    downtimeSeconds: downtime,
    sizes,
    seconds: { pause: pause!, 'delta-copy': delta!, snapshot: snapshot!, resume: resume! },
  });
  // Measured by `npm run bench` (2026-12-03, 19:19 UTC): a first and an incremental backup at 2,400 objects and
  // 49.5 MiB of database, then a first backup with 10× the objects and the database 1 GB larger.
  const history: DowntimeHistory = {
    runs: [
      run(3, { pods: 4, databaseBytes: 1017.8 * MiB, objects: 24024 }, [0.6, 1.0, 0.02, 0.58], 2.2),
      run(2, { pods: 4, databaseBytes: 49.6 * MiB, objects: 2424 }, [0.54, 0.13, 0.02, 0.52], 1.21),
      run(1, { pods: 4, databaseBytes: 49.5 * MiB, objects: 2400 }, [0.55, 0.11, 0.03, 0.52], 1.21),
    ],
  };
  const upcoming: DowntimeSizes = { pods: 4, databaseBytes: 1017.9 * MiB, objects: 24264 };

  it('keeps the top of the range near the runs seen: two sizes a hair apart do not make a slope', () => {
    const estimate = estimateDowntime({ history, upcoming, fallback: measured });
    expect(estimate.basis).toBe('history');
    expect(estimate.highSeconds).toBeLessThan(2 * estimate.expectedSeconds);
  });

  it("leans on a single run at the coming size only so far: the next one, 0.5 s faster, is inside the range", () => {
    // The incremental backup that followed took 1.72 s (its delta copy 0.64 s against the first one's 1.00 s).
    const estimate = estimateDowntime({ history, upcoming, fallback: measured });
    expect(estimate.lowSeconds).toBeLessThanOrEqual(1.72);
    expect(estimate.highSeconds).toBeGreaterThanOrEqual(2.2);
  });
});

describe('a downtime estimate without (enough) history', () => {
  const upcoming: DowntimeSizes = { pods: 10, databaseBytes: 4 * 1024 * 1024 * 1024, objects: 600_000 };

  it('comes from what the cluster shows: its pods\' start-up, their grace periods, the listing rate', () => {
    const pace = { pachdStartupSeconds: 12, podStartupSeconds: 3, maxGraceSeconds: 60 };
    const { estimate, steps } = estimateDowntimeWithDetail({ history: { runs: [] }, upcoming, fallback: { ...measured, listConcurrency: 20, pace } });
    const api = NO_HISTORY_MODEL.apiSeconds + 10 * NO_HISTORY_MODEL.perPodSeconds;
    expect(estimate).toMatchObject({ basis: 'throughput', runs: 0 });
    expect(Object.fromEntries(estimate.perStep.map((s) => [s.step, s.expectedSeconds]))).toEqual({
      pause: api + 3, // stopping takes about what starting took
      'delta-copy': NO_HISTORY_MODEL.delta.fixedSeconds + 30 * (1000 / 6000), // 600 pages over 20 streams
      snapshot: NO_HISTORY_MODEL.snapshot.expectedSeconds, // the dumps leave the pause
      resume: api + 12, // what pachd's current pod took to start
    });
    const pause = steps.find((s) => s.step === 'pause')!;
    expect(pause.high).toBeCloseTo(api + 60 + 1, 5); // a pod ignoring SIGTERM holds the pause for its grace period
    const resume = steps.find((s) => s.step === 'resume')!;
    expect([resume.low, resume.high]).toEqual([api + 11 * 0.5, api + 13 * 2]);
    expect(estimate.lowSeconds).toBeCloseTo(steps.reduce((n, s) => n + s.low, 0), 2);
    expect(estimate.highSeconds).toBeCloseTo(steps.reduce((n, s) => n + s.high, 0), 2);
  });

  it('counts the dumps in when they fall into the pause, and assumes a slow cluster when it could not look', () => {
    const estimate = estimateDowntime({ history: { runs: [] }, upcoming, fallback: { ...measured, snapshotsUsable: false } });
    const at = (step: string) => estimate.perStep.find((s) => s.step === step)!.expectedSeconds;
    expect(at('snapshot')).toBeCloseTo(NO_HISTORY_MODEL.dump.fixedSeconds + upcoming.databaseBytes / measured.dumpBytesPerSecond, 2);
    expect(at('pause')).toBeCloseTo(NO_HISTORY_MODEL.apiSeconds + 10 * NO_HISTORY_MODEL.perPodSeconds + NO_HISTORY_MODEL.unknownStopSeconds, 2);
    expect(at('resume')).toBeCloseTo(NO_HISTORY_MODEL.apiSeconds + 10 * NO_HISTORY_MODEL.perPodSeconds + NO_HISTORY_MODEL.unknownStartupSeconds, 2);
  });

  it('uses the default rates when nothing could be measured', () => {
    const estimate = estimateDowntime({ history: { runs: [] }, upcoming, fallback: { listObjectsPerSecond: Number.NaN, dumpBytesPerSecond: 0 } });
    const delta = estimate.perStep.find((s) => s.step === 'delta-copy')!;
    expect(delta.expectedSeconds).toBeCloseTo(NO_HISTORY_MODEL.delta.fixedSeconds + Math.ceil(600 / 16) * (1000 / DEFAULT_THROUGHPUT.listObjectsPerSecond), 3);
    expect(estimate.expectedSeconds).toBeGreaterThan(0);
  });

  it('waits for three past runs before trusting them', () => {
    const two = estimateDowntime({ history: history(2, seededRandom(4)), upcoming, fallback: measured });
    expect(two).toMatchObject({ basis: 'throughput', runs: 0 });
    expect(estimateDowntime({ history: history(3, seededRandom(4)), upcoming: sizesAt(3), fallback: measured })).toMatchObject({ basis: 'history', runs: 3 });
  });

  it('mixes the two per step when one step has no history, and says the basis is throughput', () => {
    const past = history(8, seededRandom(5));
    for (const run of past.runs) delete run.sizes.databaseBytes; // e.g. runs from before sizes were recorded
    const { estimate, steps, range } = estimateDowntimeWithDetail({ history: past, upcoming, fallback: measured });
    expect(estimate).toMatchObject({ basis: 'throughput', runs: 8 });
    expect(range).toBe('sum-of-steps');
    expect(steps.map((s) => s.basis)).toEqual(['history', 'history', 'throughput', 'history']);
    expect(estimate.expectedSeconds).toBeCloseTo(steps.reduce((n, s) => n + s.expected, 0), 2);
    expect(estimate.lowSeconds).toBeCloseTo(steps.reduce((n, s) => n + s.low, 0), 2);
  });
});

describe('the error of an estimate', () => {
  it('is the actual minus the expected, and says whether the range held', () => {
    const estimate = { expectedSeconds: 100, lowSeconds: 80, highSeconds: 130 };
    expect(estimateError(estimate, 120)).toEqual({ errorSeconds: 20, relativeError: 0.2, withinRange: true });
    expect(estimateError(estimate, 70)).toEqual({ errorSeconds: -30, relativeError: -0.3, withinRange: false });
    expect(estimateError(estimate, 130).withinRange).toBe(true);
    expect(estimateError({ expectedSeconds: 0, lowSeconds: 0, highSeconds: 0 }, 1)).toEqual({ errorSeconds: 1, relativeError: null, withinRange: false });
  });
});
