/**
 * Which size predicts each downtime step's duration, and how to read those sizes back from a past run's
 * `run_steps` rows (DESIGN.md, "Estimating downtime"). Pure.
 *
 * One feature per step, on purpose: each step's time is dominated by one thing, and a one-feature robust fit
 * needs few runs to be trustworthy. The bytes the delta copy moves while paused are not a feature: they are
 * what arrived between the pre-copy and the pause, unknowable before the run, so a model using them would
 * need a guess of them anyway; their run-to-run variation shows up in the residuals, hence in the range.
 */

/** The sizes that drive downtime, for a past run or the coming one. */
export interface DowntimeSizes {
  /** Replicas the pause stops: pachd, the quiesced deployments and every worker RC (the pause step's `objects`). */
  pods: number;
  /** Sum of `pg_database_size` over the configured databases (preflight's `databaseBytes`). */
  databaseBytes: number;
  /** Objects in the cluster bucket: what the delta copy lists (and writes into the inventory). */
  objects: number;
}

/** The backup steps between pause and resume, in run order. */
export type DowntimeStep = 'pause' | 'delta-copy' | 'snapshot' | 'resume';

/** A downtime step, its checklist title (as the backup steps name it) and the size its duration is fitted on. */
export interface DowntimeStepModel {
  step: DowntimeStep;
  title: string;
  feature: keyof DowntimeSizes;
}

/**
 * The downtime steps and their features:
 * - pause: scale calls, then waiting for the pods to terminate → pods stopped;
 * - delta-copy: the cluster bucket listed in parallel key ranges and compared with the pre-copy's listing →
 *   objects listed;
 * - snapshot: a snapshot exported per database (milliseconds) — or, where that cannot work, the dumps taken
 *   while paused → database bytes on the server (not the dump's bytes: those are compressed output, unknown
 *   before the dump); a cluster whose dumps come from snapshots fits a flat line on it;
 * - resume: scale calls, then pachd ready → the same pods (resume reports no size of its own).
 */
export const DOWNTIME_STEPS: readonly DowntimeStepModel[] = [
  { step: 'pause', title: 'Pause Pachyderm', feature: 'pods' },
  { step: 'delta-copy', title: 'Copy new objects', feature: 'objects' },
  { step: 'snapshot', title: 'Snapshot the databases', feature: 'databaseBytes' },
  { step: 'resume', title: 'Resume Pachyderm', feature: 'pods' },
];

/** Steps whose rows carry sizes or durations the estimate uses. */
export const HISTORY_STEP_NAMES: readonly string[] = ['preflight', ...DOWNTIME_STEPS.map((s) => s.step)];

/** The columns of a `run_steps` row that features are read from. */
export interface StepRow {
  name: string;
  durationMs: number | null;
  bytes: number | null;
  objects: number | null;
  output: unknown;
}

/** A past run's sizes and the seconds each downtime step took; absent where the run did not record it. */
export interface RunSample {
  sizes: Partial<DowntimeSizes>;
  seconds: Partial<Record<DowntimeStep, number>>;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function field(value: unknown, ...path: string[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Σ of preflight's `databaseBytes`, or undefined when the output has none (an older or odd row). */
function databaseBytesOf(output: unknown): number | undefined {
  const sizes = field(output, 'preflight', 'databaseBytes');
  if (typeof sizes !== 'object' || sizes === null) return undefined;
  const values = Object.values(sizes as Record<string, unknown>);
  if (values.length === 0 || !values.every(isNumber)) return undefined;
  return values.reduce((a, b) => a + b, 0);
}

/** Objects the delta copy listed (falling back to the inventory's count, the same objects). */
function objectsListedOf(output: unknown): number | undefined {
  const listed = field(output, 'delta', 'listed');
  if (isNumber(listed)) return listed;
  const inventoried = field(output, 'inventory', 'objects');
  return isNumber(inventoried) ? inventoried : undefined;
}

/** Reads one past run's sizes and downtime step durations from its `run_steps` rows (finished steps only). */
export function sampleFromRows(rows: readonly StepRow[]): RunSample {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const sizes: Partial<DowntimeSizes> = {};
  const pods = byName.get('pause')?.objects;
  if (isNumber(pods)) sizes.pods = pods;
  const databaseBytes = databaseBytesOf(byName.get('preflight')?.output);
  if (databaseBytes !== undefined) sizes.databaseBytes = databaseBytes;
  const objects = objectsListedOf(byName.get('delta-copy')?.output);
  if (objects !== undefined) sizes.objects = objects;
  const seconds: Partial<Record<DowntimeStep, number>> = {};
  for (const { step } of DOWNTIME_STEPS) {
    const ms = byName.get(step)?.durationMs;
    if (isNumber(ms) && ms >= 0) seconds[step] = ms / 1000;
  }
  return { sizes, seconds };
}
