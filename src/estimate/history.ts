import type pg from 'pg';
import type { RunPhase } from '../runner/run-phase.js';
import { HISTORY_STEP_NAMES, sampleFromRows, type RunSample, type StepRow } from './step-features.js';

/** One past backup, as the downtime model sees it. */
export interface PastRun extends RunSample {
  runId: string;
  createdAt: Date;
  phase: RunPhase;
  /** Pause to pachd ready, as the run recorded it (`runs.downtime_seconds`); null if it never got that far. */
  downtimeSeconds: number | null;
}

/** Past backups of one cluster, newest first. */
export interface DowntimeHistory {
  runs: PastRun[];
}

/** Phases whose timings are a backup's real timings: it ran to the end (a partial failure is off the downtime path). */
const USABLE_PHASES: readonly RunPhase[] = ['succeeded', 'partially-failed'];

/**
 * The downtime history of `cluster`: its newest `limit` backups that ran to the end, each with its sizes and
 * downtime step durations, in one query. Only steps that ran (`done`) count: a skipped step's duration is the
 * time to notice it was done, not to do it.
 */
export async function loadDowntimeHistory(pool: pg.Pool, cluster: string, options: { limit?: number } = {}): Promise<DowntimeHistory> {
  const { rows } = await pool.query<{
    id: string;
    created_at: Date;
    phase: RunPhase;
    downtime_seconds: number | null;
    name: string | null;
    duration_ms: number | null;
    bytes: string | null;
    objects: string | null;
    output: unknown;
  }>(
    // Only the parts of `output` the features read travel: preflight's and the pause's outputs hold the whole
    // workload snapshot (every worker RC), which a cluster with many pipelines makes large.
    `SELECT r.id, r.created_at, r.phase, r.downtime_seconds,
            s.name, s.duration_ms, s.bytes, s.objects,
            CASE s.name
              WHEN 'preflight' THEN jsonb_build_object('preflight', jsonb_build_object('databaseBytes', s.output #> '{preflight,databaseBytes}'))
              WHEN 'delta-copy' THEN jsonb_build_object('delta', s.output -> 'delta', 'inventory', s.output -> 'inventory')
            END AS output
       FROM (SELECT id, created_at, phase, downtime_seconds FROM runs
              WHERE cluster = $1 AND kind = 'backup' AND phase = ANY($2)
              ORDER BY created_at DESC LIMIT $3) r
       LEFT JOIN run_steps s ON s.run_id = r.id AND s.state = 'done' AND s.name = ANY($4)
      ORDER BY r.created_at DESC, r.id`,
    [cluster, [...USABLE_PHASES], options.limit ?? 50, [...HISTORY_STEP_NAMES]],
  );
  const runs: PastRun[] = [];
  const stepRows = new Map<string, StepRow[]>();
  for (const row of rows) {
    let steps = stepRows.get(row.id);
    if (!steps) {
      steps = [];
      stepRows.set(row.id, steps);
      runs.push({ runId: row.id, createdAt: row.created_at, phase: row.phase, downtimeSeconds: row.downtime_seconds, sizes: {}, seconds: {} });
    }
    if (row.name === null) continue;
    steps.push({
      name: row.name,
      durationMs: row.duration_ms,
      bytes: row.bytes === null ? null : Number(row.bytes),
      objects: row.objects === null ? null : Number(row.objects),
      output: row.output,
    });
  }
  for (const run of runs) Object.assign(run, sampleFromRows(stepRows.get(run.runId) ?? []));
  return { runs };
}
