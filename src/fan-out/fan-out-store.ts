import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import type { KeyRange } from '../object-store/key-ranges.js';
import type { RunPhase } from '../runner/run-phase.js';
import type { RangeTotals, RangeWork } from './range-work.js';

/** Where a fan-out is: its ranges still running, or finished one way or the other. */
export type FanOutState = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A range's failure as its child recorded it once no retry was left: enough to rebuild the coded error. */
export interface RangeError {
  code: string;
  message: string;
  hint?: string;
}

/** What a child reads before it copies: the fan-out, its run's phase, and its own range (with its result, if an earlier attempt finished it). */
export interface RangeAssignment {
  fanOutId: string;
  runId: string;
  runPhase: RunPhase;
  state: FanOutState;
  work: RangeWork;
  range: KeyRange;
  ranges: number;
  /** Set when this range already finished (an earlier attempt recorded it). */
  done?: { totals: RangeTotals };
}

/** One finished range as recorded. */
export interface RangeRecord {
  part: number;
  worker: string;
  totals: RangeTotals | null;
  error: RangeError | null;
}

/**
 * Fan-outs in the state database — the source of truth about what the children of a run may do (Redis only
 * carries their ids): the work every range does, the ranges, whether the fan-out still runs, and each range's
 * result. See migration 10.
 */
export function createFanOutStore(pool: pg.Pool) {
  return {
    /**
     * The fan-out of `step` of run `runId` for exactly this work and these ranges: the one still running (the step
     * runs again after its worker died: its children carry on) or a new one. Fan-outs of the step that are running
     * with other work are cancelled first. Returns its id.
     */
    async open(request: { runId: string; step: string; work: RangeWork; ranges: KeyRange[] }): Promise<{ id: string; resumed: boolean }> {
      const { rows } = await pool.query<{ id: string; work: RangeWork; ranges: KeyRange[]; state: FanOutState }>(
        'SELECT id, work, ranges, state FROM fan_outs WHERE run_id = $1 AND step = $2 ORDER BY created_at',
        [request.runId, request.step],
      );
      // Compared as stored: JSON drops undefined fields.
      const stored = JSON.parse(JSON.stringify({ work: request.work, ranges: request.ranges })) as { work: RangeWork; ranges: KeyRange[] };
      const running = rows.find((r) => r.state === 'running' && isDeepStrictEqual(r.work, stored.work) && isDeepStrictEqual(r.ranges, stored.ranges));
      if (running) return { id: running.id, resumed: true };
      await pool.query(`UPDATE fan_outs SET state = 'cancelled', finished_at = now() WHERE run_id = $1 AND step = $2 AND state = 'running'`, [request.runId, request.step]);
      const id = `${request.runId}.${request.step}.${rows.length + 1}`;
      await pool.query('INSERT INTO fan_outs (id, run_id, step, work, ranges) VALUES ($1, $2, $3, $4, $5)', [
        id,
        request.runId,
        request.step,
        JSON.stringify(request.work),
        JSON.stringify(request.ranges),
      ]);
      return { id, resumed: false };
    },

    /** Range `part` of fan-out `id` with everything a child checks before copying; undefined when there is no such range. */
    async assignment(id: string, part: number): Promise<RangeAssignment | undefined> {
      const { rows } = await pool.query(
        `SELECT f.id, f.run_id, f.state, f.work, f.ranges, r.phase, d.totals
           FROM fan_outs f JOIN runs r ON r.id = f.run_id
           LEFT JOIN fan_out_ranges d ON d.fan_out_id = f.id AND d.part = $2 AND d.totals IS NOT NULL
          WHERE f.id = $1`,
        [id, part],
      );
      const row = rows[0] as { id: string; run_id: string; state: FanOutState; work: RangeWork; ranges: KeyRange[]; phase: RunPhase; totals: RangeTotals | null } | undefined;
      if (!row || !Number.isInteger(part) || part < 0 || part >= row.ranges.length) return undefined;
      return {
        fanOutId: row.id,
        runId: row.run_id,
        runPhase: row.phase,
        state: row.state,
        work: row.work,
        range: row.ranges[part]!,
        ranges: row.ranges.length,
        ...(row.totals ? { done: { totals: row.totals } } : {}),
      };
    },

    /** Whether fan-out `id` still runs and so does its run (what a child checks while it copies). */
    async stillRunning(id: string, activePhases: readonly RunPhase[]): Promise<boolean> {
      const { rows } = await pool.query(
        `SELECT 1 FROM fan_outs f JOIN runs r ON r.id = f.run_id WHERE f.id = $1 AND f.state = 'running' AND r.phase = ANY($2)`,
        [id, [...activePhases]],
      );
      return rows.length > 0;
    },

    /** Records range `part` as finished by `worker`, with its totals or its final error (a later success replaces an error). */
    async recordRange(id: string, part: number, result: { worker: string; totals: RangeTotals } | { worker: string; error: RangeError }): Promise<void> {
      const totals = 'totals' in result ? JSON.stringify(result.totals) : null;
      const error = 'error' in result ? JSON.stringify(result.error) : null;
      await pool.query(
        `INSERT INTO fan_out_ranges (fan_out_id, part, worker, totals, error) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (fan_out_id, part) DO UPDATE SET worker = $3, totals = $4, error = $5, finished_at = now()
           WHERE fan_out_ranges.totals IS NULL`,
        [id, part, result.worker, totals, error],
      );
    },

    /** The finished ranges of fan-out `id`, by part. */
    async ranges(id: string): Promise<RangeRecord[]> {
      const { rows } = await pool.query<RangeRecord>('SELECT part, worker, totals, error FROM fan_out_ranges WHERE fan_out_id = $1 ORDER BY part', [id]);
      return rows;
    },

    /** Ends fan-out `id` (only if it still runs): children that look see it and stop. */
    async finish(id: string, state: Exclude<FanOutState, 'running'>): Promise<void> {
      await pool.query(`UPDATE fan_outs SET state = $2, finished_at = now() WHERE id = $1 AND state = 'running'`, [id, state]);
    },
  };
}

export type FanOutStore = ReturnType<typeof createFanOutStore>;
