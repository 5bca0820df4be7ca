import type pg from 'pg';

/**
 * The state database's schema, as an ordered list of migrations applied once each inside a transaction,
 * serialized between processes by an advisory lock so any number of app and worker processes may start at once.
 * Append only: a released migration is never edited.
 */
const MIGRATIONS: { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: 'runs, steps and audit',
    sql: `
      CREATE TABLE runs (
        id text PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('backup', 'restore', 'drill', 'verify')),
        cluster text NOT NULL,
        phase text NOT NULL,
        requested_by text NOT NULL,
        note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        error text,
        warnings jsonb NOT NULL DEFAULT '[]',
        owner text,
        estimate jsonb,
        downtime_seconds double precision,
        result jsonb,
        slack jsonb
      );
      CREATE INDEX runs_cluster_created ON runs (cluster, created_at DESC);
      CREATE INDEX runs_active ON runs (phase) WHERE phase IN ('queued', 'validating', 'running');

      CREATE TABLE run_steps (
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        position int NOT NULL,
        name text NOT NULL,
        state text NOT NULL,
        downtime boolean NOT NULL DEFAULT false,
        started_at timestamptz,
        finished_at timestamptz,
        duration_ms double precision,
        bytes bigint,
        objects bigint,
        rows bigint,
        output jsonb,
        checkpoint jsonb,
        error text,
        PRIMARY KEY (run_id, name)
      );

      CREATE TABLE audit (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        action text NOT NULL,
        cluster text,
        run_id text,
        outcome text NOT NULL,
        detail jsonb NOT NULL DEFAULT '{}'
      );
      CREATE INDEX audit_at ON audit (at DESC);
    `,
  },
  {
    id: 2,
    name: 'schedules',
    // Schedules made in Slack (the config file's are not stored: the file is their source of truth).
    sql: `
      CREATE TABLE schedules (
        id text PRIMARY KEY,
        cluster text NOT NULL,
        cron text NOT NULL,
        timezone text NOT NULL,
        heads_up_minutes int NOT NULL CHECK (heads_up_minutes >= 0),
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (cluster, cron, timezone)
      );
    `,
  },
  {
    id: 3,
    name: 'restore requests',
    // Restores asked for in Slack, waiting for (or past) approval. The plan is the one shown for approval; the
    // fingerprint binds the approval to it. Approving is one UPDATE ... WHERE status = 'pending', so two clicks
    // start one restore.
    sql: `
      CREATE TABLE restore_requests (
        id text PRIMARY KEY,
        cluster text NOT NULL,
        backup_id text NOT NULL,
        fingerprint text NOT NULL,
        request jsonb NOT NULL,
        plan jsonb NOT NULL,
        requested_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL DEFAULT now() + interval '1 hour',
        required_approvals int NOT NULL DEFAULT 1 CHECK (required_approvals >= 1),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'started')),
        approvals jsonb NOT NULL DEFAULT '[]',
        slack jsonb,
        run_id text
      );
      CREATE INDEX restore_requests_pending ON restore_requests (cluster) WHERE status = 'pending';
    `,
  },
  {
    id: 5,
    name: 'jobs carry ids: what each run was asked to do, and whose approvals a restore needs',
    // A job names its run (or restore request); the worker reads everything else here. runs.backup_id: the backup
    // a drill was asked to check (null: the newest). restore_requests.approval_sets: how many approvals from which
    // cluster's approvers ([{cluster, approvals}]; null: required_approvals from the target's); source_cluster:
    // the cluster whose backup is restored; plan_messages: every message the plan was posted as (the ops channel
    // of the target and, for another cluster's backup, of the source), approvable from either.
    sql: `
      ALTER TABLE runs ADD COLUMN backup_id text;
      ALTER TABLE restore_requests ADD COLUMN approval_sets jsonb;
      ALTER TABLE restore_requests ADD COLUMN source_cluster text;
      ALTER TABLE restore_requests ADD COLUMN plan_messages jsonb NOT NULL DEFAULT '[]';
    `,
  },
  {
    id: 6,
    name: 'run leases and jobs',
    // The state database, not Redis, says which runs are in flight: the process running a run holds a lease on it
    // (owner + expiry, renewed while it runs); a run in flight whose lease has run out was left by a dead process.
    // `job` is the queue job a run was given to workers as, so a run whose job vanished with Redis is queued again.
    sql: `
      ALTER TABLE runs ADD COLUMN lease_expires_at timestamptz;
      ALTER TABLE runs ADD COLUMN job jsonb;
      CREATE INDEX runs_leased ON runs (cluster, lease_expires_at) WHERE phase IN ('queued', 'validating', 'running');
    `,
  },
  {
    id: 9,
    name: 'when each cluster was first seen',
    // The stale-backup check expects a backup within a cluster's interval of when pachbackup first saw it, not of
    // the beginning of time: a cluster added today is not "without a backup for 26 h".
    sql: `
      CREATE TABLE clusters_seen (
        cluster text PRIMARY KEY,
        first_seen_at timestamptz NOT NULL
      );
    `,
  },
  {
    id: 10,
    name: 'fan-outs',
    // Large copies split into key ranges run as child jobs on any worker. The parent writes here what every range
    // does (stores named by cluster, never credentials) and the ranges' keys; a child job carries only the
    // fan-out's id and its range's number, and copies only while the fan-out is running and its run is active.
    // Each range's totals (or its final error) land in fan_out_ranges, so the sum does not depend on Redis.
    sql: `
      CREATE TABLE fan_outs (
        id text PRIMARY KEY,
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step text NOT NULL,
        work jsonb NOT NULL,
        ranges jsonb NOT NULL,
        state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled')),
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      );
      CREATE INDEX fan_outs_run ON fan_outs (run_id, step);

      CREATE TABLE fan_out_ranges (
        fan_out_id text NOT NULL REFERENCES fan_outs (id) ON DELETE CASCADE,
        part int NOT NULL,
        worker text NOT NULL,
        totals jsonb,
        error jsonb,
        finished_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (fan_out_id, part)
      );
    `,
  },
];

/** Brings the state database's schema up to date. */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', ['pachbackup-migrations']);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (id int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ id: number }>('SELECT id FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.id));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [migration.id, migration.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['pachbackup-migrations']).catch(() => undefined);
    client.release();
  }
}
