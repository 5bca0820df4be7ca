import type pg from 'pg';
import type { Schedule } from './schedule.js';

/** A schedule made in Slack, as the state database keeps it. */
export type StoredSchedule = Schedule & { source: 'slack'; createdBy: string; createdAt: Date };

function toSchedule(r: Record<string, any>): StoredSchedule {
  return {
    id: r.id,
    cluster: r.cluster,
    cron: r.cron,
    timezone: r.timezone,
    headsUpMinutes: r.heads_up_minutes,
    source: 'slack',
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

/**
 * The schedules made in Slack, in the state database's `schedules` table (the config file's live in the file).
 * A cluster has each cron expression and zone at most once (a unique constraint), so two people adding the same
 * schedule at once end with one.
 */
export function createScheduleStore(pool: pg.Pool) {
  return {
    /** Adds a schedule; undefined when the cluster already has one with this cron and zone. */
    async add(s: { id: string; cluster: string; cron: string; timezone: string; headsUpMinutes: number; createdBy: string }): Promise<StoredSchedule | undefined> {
      const { rows } = await pool.query(
        `INSERT INTO schedules (id, cluster, cron, timezone, heads_up_minutes, created_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (cluster, cron, timezone) DO NOTHING RETURNING *`,
        [s.id, s.cluster, s.cron, s.timezone, s.headsUpMinutes, s.createdBy],
      );
      return rows[0] ? toSchedule(rows[0]) : undefined;
    },

    async get(id: string): Promise<StoredSchedule | undefined> {
      const { rows } = await pool.query('SELECT * FROM schedules WHERE id = $1', [id]);
      return rows[0] ? toSchedule(rows[0]) : undefined;
    },

    async list(filter: { cluster?: string } = {}): Promise<StoredSchedule[]> {
      const { rows } = await pool.query('SELECT * FROM schedules WHERE ($1::text IS NULL OR cluster = $1) ORDER BY created_at, id', [filter.cluster ?? null]);
      return rows.map(toSchedule);
    },

    /** Removes a schedule; what was removed, or undefined when there was none. */
    async remove(id: string): Promise<StoredSchedule | undefined> {
      const { rows } = await pool.query('DELETE FROM schedules WHERE id = $1 RETURNING *', [id]);
      return rows[0] ? toSchedule(rows[0]) : undefined;
    },
  };
}

export type ScheduleStore = ReturnType<typeof createScheduleStore>;
