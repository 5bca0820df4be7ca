import type pg from 'pg';
import type { RunPhase, StepState } from '../runner/run-phase.js';
import type { StepSizes } from '../runner/run-event.js';
import { redactSecrets, scrubSecretText } from '../secrets/redact-secrets.js';

export type RunKind = 'backup' | 'restore' | 'drill' | 'verify';

/** A run as the state database keeps it. */
export interface RunRecord {
  id: string;
  kind: RunKind;
  cluster: string;
  phase: RunPhase;
  requestedBy: string;
  note: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  warnings: string[];
  /** The process holding the run's lease (`host:pid:random`), or that last held it. */
  owner: string | null;
  /** Until when `owner` holds the run; past it (or never set) no live process runs it. */
  leaseExpiresAt: Date | null;
  /** The queue job the run was given to workers as, when it was queued (not for a run the CLI runs itself). */
  job: unknown;
  estimate: unknown;
  downtimeSeconds: number | null;
  result: unknown;
  slack: unknown;
  /** The backup a drill was asked to check (null: the newest complete one). */
  backupId: string | null;
}

export interface StepRecord {
  runId: string;
  position: number;
  name: string;
  state: StepState;
  downtime: boolean;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  bytes: number | null;
  objects: number | null;
  rows: number | null;
  output: unknown;
  checkpoint: unknown;
  error: string | null;
}

function toRun(r: Record<string, any>): RunRecord {
  return {
    id: r.id,
    kind: r.kind,
    cluster: r.cluster,
    phase: r.phase,
    requestedBy: r.requested_by,
    note: r.note,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    warnings: r.warnings ?? [],
    owner: r.owner,
    leaseExpiresAt: r.lease_expires_at ?? null,
    job: r.job ?? null,
    estimate: r.estimate,
    downtimeSeconds: r.downtime_seconds,
    result: r.result,
    slack: r.slack,
    backupId: r.backup_id ?? null,
  };
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** JSON for a column, secrets left out (nothing secret is kept in the state database: see redactSecrets). */
const json = (value: unknown) => JSON.stringify(redactSecrets(value));
/** Text for a column (an error message), secret shapes scrubbed. */
const text = (value: string | null | undefined) => (value === null || value === undefined ? null : scrubSecretText(value));

function toStep(r: Record<string, any>): StepRecord {
  return {
    runId: r.run_id,
    position: r.position,
    name: r.name,
    state: r.state,
    downtime: r.downtime,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: num(r.duration_ms),
    bytes: num(r.bytes),
    objects: num(r.objects),
    rows: num(r.rows),
    output: r.output,
    checkpoint: r.checkpoint,
    error: r.error,
  };
}

/**
 * Runs and their steps in the state database: the checkpoints a retried or recovered run resumes from, and the
 * history (durations and sizes) downtime estimates are fitted on.
 */
export function createRunStore(pool: pg.Pool) {
  return {
    async createRun(run: { id: string; kind: RunKind; cluster: string; requestedBy: string; note?: string; phase?: RunPhase; estimate?: unknown; slack?: unknown; backupId?: string }): Promise<RunRecord> {
      const { rows } = await pool.query(
        `INSERT INTO runs (id, kind, cluster, phase, requested_by, note, estimate, slack, backup_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          run.id,
          run.kind,
          run.cluster,
          run.phase ?? 'queued',
          run.requestedBy,
          text(run.note),
          run.estimate === undefined ? null : json(run.estimate),
          run.slack === undefined ? null : json(run.slack),
          run.backupId ?? null,
        ],
      );
      return toRun(rows[0]!);
    },

    async getRun(id: string): Promise<RunRecord | undefined> {
      const { rows } = await pool.query('SELECT * FROM runs WHERE id = $1', [id]);
      return rows[0] ? toRun(rows[0]) : undefined;
    },

    async listRuns(filter: { cluster?: string; kind?: RunKind; phases?: readonly RunPhase[]; limit?: number } = {}): Promise<RunRecord[]> {
      const { rows } = await pool.query(
        `SELECT * FROM runs
          WHERE ($1::text IS NULL OR cluster = $1) AND ($2::text IS NULL OR kind = $2) AND ($3::text[] IS NULL OR phase = ANY($3))
          ORDER BY created_at DESC LIMIT $4`,
        [filter.cluster ?? null, filter.kind ?? null, filter.phases ? [...filter.phases] : null, filter.limit ?? 50],
      );
      return rows.map(toRun);
    },

    async setPhase(id: string, phase: RunPhase, fields: { error?: string | null; owner?: string | null; started?: boolean; finished?: boolean } = {}): Promise<void> {
      await pool.query(
        `UPDATE runs SET phase = $2,
                error = CASE WHEN $3::boolean THEN $4 ELSE error END,
                owner = CASE WHEN $5::boolean THEN $6 ELSE owner END,
                started_at = CASE WHEN $7::boolean AND started_at IS NULL THEN now() ELSE started_at END,
                finished_at = CASE WHEN $8::boolean THEN now() ELSE finished_at END
          WHERE id = $1`,
        [id, phase, 'error' in fields, text(fields.error), 'owner' in fields, fields.owner ?? null, fields.started ?? false, fields.finished ?? false],
      );
    },

    async finishRun(id: string, fields: { phase: RunPhase; error?: string; warnings: string[]; downtimeSeconds?: number; result?: unknown }): Promise<void> {
      await pool.query(
        `UPDATE runs SET phase = $2, error = $3, warnings = $4, downtime_seconds = $5, result = COALESCE($6, result), finished_at = now() WHERE id = $1`,
        [id, fields.phase, text(fields.error), json(fields.warnings), fields.downtimeSeconds ?? null, fields.result === undefined ? null : json(fields.result)],
      );
    },

    /**
     * Takes the run's lease for `owner` for `ttlMs` — when nobody holds it, it has run out, or `owner` holds it
     * already. False when another process holds it (the run is in flight elsewhere).
     */
    async claimLease(id: string, owner: string, ttlMs: number): Promise<boolean> {
      const { rowCount } = await pool.query(
        `UPDATE runs SET owner = $2, lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
          WHERE id = $1 AND (lease_expires_at IS NULL OR lease_expires_at < now() OR owner = $2)`,
        [id, owner, ttlMs],
      );
      return rowCount === 1;
    },

    /** Extends `owner`'s lease; false when it is no longer `owner`'s (it ran out and another process took it). */
    async renewLease(id: string, owner: string, ttlMs: number): Promise<boolean> {
      const { rowCount } = await pool.query(`UPDATE runs SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000) WHERE id = $1 AND owner = $2`, [id, owner, ttlMs]);
      return rowCount === 1;
    },

    /** Gives the lease up (the run ended or was handed back); the owner stays recorded. */
    async releaseLease(id: string, owner: string): Promise<void> {
      await pool.query(`UPDATE runs SET lease_expires_at = NULL WHERE id = $1 AND owner = $2`, [id, owner]);
    },

    /** Another run of `cluster` whose lease is live: the cluster is busy, whatever Redis says. */
    async liveRunOn(cluster: string, exceptId: string): Promise<RunRecord | undefined> {
      const { rows } = await pool.query(
        `SELECT * FROM runs WHERE cluster = $1 AND id <> $2 AND phase IN ('queued', 'validating', 'running') AND lease_expires_at > now() ORDER BY created_at LIMIT 1`,
        [cluster, exceptId],
      );
      return rows[0] ? toRun(rows[0]) : undefined;
    },

    /** Runs in flight (queued, validating, running) that no live process holds: their lease ran out, or was never taken. */
    async listUnheldRuns(filter: { kind?: RunKind; limit?: number } = {}): Promise<RunRecord[]> {
      const { rows } = await pool.query(
        `SELECT * FROM runs WHERE phase IN ('queued', 'validating', 'running') AND (lease_expires_at IS NULL OR lease_expires_at < now())
            AND ($1::text IS NULL OR kind = $1) ORDER BY created_at LIMIT $2`,
        [filter.kind ?? null, filter.limit ?? 100],
      );
      return rows.map(toRun);
    },

    async setRunFields(id: string, fields: { estimate?: unknown; result?: unknown; slack?: unknown; job?: unknown }): Promise<void> {
      for (const [column, value] of Object.entries(fields)) {
        if (value === undefined) continue;
        await pool.query(`UPDATE runs SET ${column} = $2 WHERE id = $1`, [id, json(value)]);
      }
    },

    async getSteps(runId: string): Promise<StepRecord[]> {
      const { rows } = await pool.query('SELECT * FROM run_steps WHERE run_id = $1 ORDER BY position', [runId]);
      return rows.map(toStep);
    },

    /** Declares the run's steps (pending) once; a resumed run keeps what it had. */
    async declareSteps(runId: string, steps: { name: string; position: number; downtime: boolean }[]): Promise<void> {
      for (const s of steps) {
        await pool.query(
          `INSERT INTO run_steps (run_id, position, name, state, downtime) VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (run_id, name) DO NOTHING`,
          [runId, s.position, s.name, s.downtime],
        );
      }
    },

    async stepStarted(runId: string, name: string): Promise<void> {
      await pool.query(`UPDATE run_steps SET state = 'running', started_at = now(), finished_at = NULL, error = NULL WHERE run_id = $1 AND name = $2`, [runId, name]);
    },

    async stepFinished(runId: string, name: string, fields: { state: StepState; durationMs: number; sizes?: StepSizes; output?: unknown; error?: string }): Promise<void> {
      await pool.query(
        `UPDATE run_steps SET state = $3, finished_at = now(), duration_ms = $4, bytes = $5, objects = $6, rows = $7,
                output = COALESCE($8, output), error = $9
          WHERE run_id = $1 AND name = $2`,
        [
          runId,
          name,
          fields.state,
          fields.durationMs,
          fields.sizes?.bytes ?? null,
          fields.sizes?.objects ?? null,
          fields.sizes?.rows ?? null,
          fields.output === undefined ? null : json(fields.output),
          text(fields.error),
        ],
      );
    },

    async setStepState(runId: string, name: string, state: StepState, error?: string): Promise<void> {
      await pool.query('UPDATE run_steps SET state = $3, error = COALESCE($4, error) WHERE run_id = $1 AND name = $2', [runId, name, state, text(error)]);
    },

    async saveCheckpoint(runId: string, name: string, data: unknown): Promise<void> {
      await pool.query('UPDATE run_steps SET checkpoint = $3 WHERE run_id = $1 AND name = $2', [runId, name, json(data)]);
    },
  };
}

export type RunStore = ReturnType<typeof createRunStore>;
