import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/config.js';
import type { RunEvents } from '../runner/run-event.js';
import { FINAL_PHASES, type RunPhase, type StepState } from '../runner/run-phase.js';
import type { RunKind, RunStore } from '../state/run-store.js';

/** Outcomes that leave a usable backup: what "last success" and estimate errors are about. */
const GOOD_PHASES: readonly RunPhase[] = ['succeeded', 'partially-failed'];

/** Steps whose sizes are object copies, and the `phase` label they are counted under. */
const COPY_STEPS: Readonly<Record<string, 'pre-copy' | 'delta'>> = { 'pre-copy': 'pre-copy', 'catch-up-copy': 'pre-copy', 'delta-copy': 'delta' };

/** Step durations: a 0.1 s Kubernetes patch up to a 2 h first copy of a large bucket. */
export const STEP_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
/** Downtime (pause to resume): seconds for a small cluster, up to hours for a first backup of a large one. */
export const DOWNTIME_BUCKETS = [5, 10, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200];
/** |actual − estimated| / estimated of the downtime. */
export const RELATIVE_ERROR_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5];

/**
 * pachbackup's Prometheus metrics, in a registry of their own (never prom-client's global one): one per process,
 * built by the composition root and passed to whatever records into it. Every metric is named `pachbackup_*`;
 * the process's default metrics (CPU, memory, event loop lag, GC) are in the same registry unless turned off.
 *
 * Gauges are per process. With several workers, aggregate across instances: `max by (cluster)` for
 * `pachbackup_last_success_timestamp_seconds`, `sum by (cluster, kind)` for `pachbackup_operation_in_progress`.
 */
export interface PachbackupMetrics {
  registry: Registry;
  /** Finished runs by outcome (the run's final phase). */
  runsTotal: Counter<'kind' | 'cluster' | 'outcome'>;
  /** Duration of every step that ran to its end (skipped steps of a resumed run are not observed). */
  stepDuration: Histogram<'kind' | 'cluster' | 'step'>;
  /** Time Pachyderm was paused, per run that paused it (failed runs included: users waited all the same). */
  downtime: Histogram<'cluster'>;
  lastDowntime: Gauge<'cluster'>;
  /** Bytes and objects copied into the backup store, by copy phase (`pre-copy` while live, `delta` while paused). */
  copiedBytes: Counter<'cluster' | 'phase'>;
  copiedObjects: Counter<'cluster' | 'phase'>;
  /** Actual − estimated downtime of the last good backup that had an estimate: positive means it took longer. */
  estimateError: Gauge<'cluster'>;
  estimateRelativeError: Histogram<'cluster'>;
  /** Unix time the last good backup finished; 0 for a cluster never backed up (so an age alert fires for it too). */
  lastSuccess: Gauge<'cluster'>;
  /** Operations this process is running now, 0 or 1 per cluster and kind. */
  inProgress: Gauge<'cluster' | 'kind'>;
  /**
   * 1 while a run of this process has the cluster paused and cannot bring it back (the resume refused and retried,
   * given up, or pachd not ready in time); 0 once it is back. A process running nothing on the cluster shows what
   * the last run that paused it left (from the state database, at start and at each stale-backup check): a cluster
   * a dead or restarted process gave up resuming stays 1 until a later run pauses and resumes it. Alert on
   * `max by (cluster) (...) == 1`.
   */
  notBack: Gauge<'cluster'>;
}

/**
 * Creates the registry and its metrics. `defaultLabels` (e.g. `{ process: 'worker' }`) go on every series;
 * `defaultMetrics: false` leaves out the process metrics (tests that create many registries).
 */
export function createMetrics(options: { defaultMetrics?: boolean; defaultLabels?: Record<string, string> } = {}): PachbackupMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    runsTotal: new Counter({
      name: 'pachbackup_runs_total',
      help: 'Runs that finished, by kind, cluster and outcome (succeeded, partially-failed, failed-validation, failed, cancelled).',
      labelNames: ['kind', 'cluster', 'outcome'],
      registers,
    }),
    stepDuration: new Histogram({
      name: 'pachbackup_step_duration_seconds',
      help: 'Duration of each step that ran to its end.',
      labelNames: ['kind', 'cluster', 'step'],
      buckets: STEP_DURATION_BUCKETS,
      registers,
    }),
    downtime: new Histogram({
      name: 'pachbackup_downtime_seconds',
      help: 'How long Pachyderm was paused, per run that paused it.',
      labelNames: ['cluster'],
      buckets: DOWNTIME_BUCKETS,
      registers,
    }),
    lastDowntime: new Gauge({ name: 'pachbackup_last_downtime_seconds', help: 'How long Pachyderm was paused by the last run that paused it.', labelNames: ['cluster'], registers }),
    copiedBytes: new Counter({
      name: 'pachbackup_copied_bytes_total',
      help: 'Bytes copied from the cluster bucket into the backup store, by phase (pre-copy: cluster running; delta: cluster paused).',
      labelNames: ['cluster', 'phase'],
      registers,
    }),
    copiedObjects: new Counter({
      name: 'pachbackup_copied_objects_total',
      help: 'Objects copied from the cluster bucket into the backup store, by phase (pre-copy: cluster running; delta: cluster paused).',
      labelNames: ['cluster', 'phase'],
      registers,
    }),
    estimateError: new Gauge({
      name: 'pachbackup_estimate_error_seconds',
      help: 'Actual minus estimated downtime of the last good backup that had an estimate (positive: it took longer than announced).',
      labelNames: ['cluster'],
      registers,
    }),
    estimateRelativeError: new Histogram({
      name: 'pachbackup_estimate_relative_error',
      help: 'Absolute relative error of the downtime estimate, |actual - estimated| / estimated, per good backup that had an estimate.',
      labelNames: ['cluster'],
      buckets: RELATIVE_ERROR_BUCKETS,
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'pachbackup_last_success_timestamp_seconds',
      help: 'Unix time the last good backup (succeeded or partially-failed) of the cluster finished; 0 if there is none.',
      labelNames: ['cluster'],
      registers,
    }),
    inProgress: new Gauge({ name: 'pachbackup_operation_in_progress', help: 'Operations this process is running now, by cluster and kind.', labelNames: ['cluster', 'kind'], registers }),
    notBack: new Gauge({
      name: 'pachbackup_cluster_not_back',
      help: ' 1 while a run has the cluster paused and cannot bring it back (resume refused or given up, pachd not ready); 0 once it is back.',
      labelNames: ['cluster'],
      registers,
    }),
  };
}

/**
 * Loads what must survive a restart from the state database, for every configured cluster: the time of its last
 * good backup (0 when it has none), that backup's downtime, and whether the last run that paused it left it not
 * back (unless this process runs an operation on it now, whose run says so, or pachd is seen running again). It also creates every cluster's series at zero
 * (runs by outcome, copies, in-progress), so `increase()` and `absent()` work from the first scrape.
 * Call it once at start; calling it again (e.g. on the stale-backup check's schedule) picks up backups other
 * processes finished. Rejects when the state database cannot be read.
 */
export async function loadClusterMetrics(
  metrics: PachbackupMetrics,
  options: {
    config: Pick<Config, 'clusters'>;
    runs: Pick<RunStore, 'listRuns' | 'getSteps'>;
    /** Whether the cluster's pachd runs now (see `pachdRunning`): a cluster left paused and brought back by hand shows as back. */
    pachdRunning?: (cluster: string) => Promise<boolean | undefined>;
  },
): Promise<void> {
  await Promise.all(
    Object.keys(options.config.clusters).map(async (cluster) => {
      const [last] = await options.runs.listRuns({ cluster, kind: 'backup', phases: GOOD_PHASES, limit: 1 });
      const finished = last ? (last.finishedAt ?? last.createdAt) : undefined;
      // Never go backwards: this process may have recorded a newer run than the database query saw.
      const seconds = finished ? finished.getTime() / 1000 : 0;
      const current = await gaugeValue(metrics.lastSuccess, { cluster });
      if (current === undefined || seconds > current) {
        metrics.lastSuccess.set({ cluster }, seconds);
        if (last && last.downtimeSeconds !== null) metrics.lastDowntime.set({ cluster }, last.downtimeSeconds);
      }
      for (const outcome of FINAL_PHASES) metrics.runsTotal.inc({ kind: 'backup', cluster, outcome }, 0);
      for (const phase of Object.values(COPY_STEPS)) {
        metrics.copiedBytes.inc({ cluster, phase }, 0);
        metrics.copiedObjects.inc({ cluster, phase }, 0);
      }
      metrics.inProgress.inc({ cluster, kind: 'backup' }, 0);
      // While this process runs an operation on the cluster, its run says whether it is back; otherwise the last run
      // that paused it does — so a process started after the one that left it paused (and died) shows it too —
      // unless pachd runs again (someone scaled it back up by hand, as the alert asks).
      if (!(await runsOn(metrics, cluster))) {
        const notBack = (await leftPaused(options.runs, cluster)) && (await options.pachdRunning?.(cluster)) !== true;
        metrics.notBack.set({ cluster }, notBack ? 1 : 0);
      }
    }),
  );
}

/** Whether this process is running an operation on `cluster` now (any kind). */
async function runsOn(metrics: PachbackupMetrics, cluster: string): Promise<boolean> {
  const { values } = await metrics.inProgress.get();
  return values.some((v) => v.labels.cluster === cluster && v.value > 0);
}

/**
 * Whether the last finished run that paused `cluster` ended without bringing it back: its pause could not be undone
 * (the resume was refused until pachbackup gave up). Runs that did not pause it are passed over.
 */
async function leftPaused(runs: Pick<RunStore, 'listRuns' | 'getSteps'>, cluster: string): Promise<boolean> {
  for (const run of await runs.listRuns({ cluster, phases: FINAL_PHASES, limit: 20 })) {
    const pause = (await runs.getSteps(run.id)).find((s) => s.name === 'pause');
    if (pause && PAUSED_STATES.includes(pause.state)) return pause.state === 'undo-failed';
  }
  return false;
}

/** States of a run's pause step once it paused the cluster: resumed (`done` then the resume, or `undone`) or not. */
const PAUSED_STATES: readonly StepState[] = ['done', 'undone', 'undo-failed'];

async function gaugeValue(gauge: Gauge<'cluster'>, labels: { cluster: string }): Promise<number | undefined> {
  const { values } = await gauge.get();
  return values.find((v) => v.labels.cluster === labels.cluster)?.value;
}

/** What `observeRun` needs to know about the run besides its events. */
export interface ObservedRun {
  kind: RunKind;
  cluster: string;
  /** The downtime announced for the run (the estimate's expected seconds), to record the estimate's error. */
  estimateSeconds?: number;
}

/**
 * Records one run into the metrics from its event stream alone: whether its cluster is not back (see `notBack`), step durations (`step-finished`, state done),
 * copied bytes and objects (the sizes of `pre-copy` and `delta-copy`), and at `run-finished` the outcome, the
 * downtime, the estimate's error and the time of the last good backup. The run counts as in progress from this
 * call until `run-finished` or the returned unsubscribe, whichever comes first — call the unsubscribe when the
 * run's job ends however it ends (it is idempotent), so a job that throws before the run finishes is not left
 * "in progress".
 */
export function observeRun(metrics: PachbackupMetrics, run: ObservedRun, events: RunEvents): () => void {
  const { kind, cluster } = run;
  let active = true;
  const stop = () => {
    if (!active) return;
    active = false;
    metrics.inProgress.dec({ cluster, kind });
  };
  metrics.inProgress.inc({ cluster, kind });
  const unsubscribe = events.subscribe((event) => {
    switch (event.type) {
      case 'step-progress':
        if (event.step === 'resume' && event.progress.retry && !event.progress.retry.recovered) metrics.notBack.set({ cluster }, 1);
        return;
      case 'undo-retrying':
        if (event.step === 'pause') metrics.notBack.set({ cluster }, 1);
        return;
      case 'undo-finished':
        if (event.step === 'pause') metrics.notBack.set({ cluster }, event.state === 'undone' ? 0 : 1);
        return;
      case 'step-finished': {
        if (event.step === 'resume') metrics.notBack.set({ cluster }, 0);
        if (event.state !== 'done') return;
        metrics.stepDuration.observe({ kind, cluster, step: event.step }, event.durationMs / 1000);
        const phase = COPY_STEPS[event.step];
        if (phase) {
          metrics.copiedBytes.inc({ cluster, phase }, event.sizes.bytes ?? 0);
          metrics.copiedObjects.inc({ cluster, phase }, event.sizes.objects ?? 0);
        }
        return;
      }
      case 'run-finished': {
        metrics.runsTotal.inc({ kind, cluster, outcome: event.phase });
        const actual = event.downtimeSeconds;
        if (actual !== undefined) {
          metrics.downtime.observe({ cluster }, actual);
          metrics.lastDowntime.set({ cluster }, actual);
        }
        const good = GOOD_PHASES.includes(event.phase);
        // A failed run's downtime ends where it failed: comparing it with the estimate says nothing about the model.
        if (good && actual !== undefined && run.estimateSeconds !== undefined && run.estimateSeconds > 0) {
          metrics.estimateError.set({ cluster }, actual - run.estimateSeconds);
          metrics.estimateRelativeError.observe({ cluster }, Math.abs(actual - run.estimateSeconds) / run.estimateSeconds);
        }
        if (good && kind === 'backup') metrics.lastSuccess.set({ cluster }, Date.parse(event.at) / 1000);
        stop();
        return;
      }
      default:
        return;
    }
  });
  return () => {
    unsubscribe();
    stop();
  };
}
