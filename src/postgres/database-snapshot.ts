import type pg from 'pg';
import type { PostgresConfig } from '../config/config.js';
import { describeError, PachbackupError } from '../errors.js';
import { connectPostgres, describeConnection } from './connection.js';
import { countTableRows, type TableStat } from './server-info.js';

/**
 * A snapshot of one database exported while Pachyderm is paused and held open so that `pg_dump --snapshot`
 * can take exactly that moment later, while Pachyderm runs again (docs/development.md, PostgreSQL).
 *
 * The exporting session is a REPEATABLE READ, READ ONLY transaction whose first statement is
 * `pg_export_snapshot()`, so its snapshot is the moment of the export. The transaction must stay open until
 * pg_dump has imported the snapshot; the holder keeps it open until `release()`, and counts the tables' rows in
 * the same snapshot (what restore drills compare against).
 */
export interface HeldSnapshot {
  database: string;
  /** The id `pg_dump --snapshot` takes, e.g. `00000003-0000001B-1`. */
  id: string;
  /** When it was exported. */
  exportedAt: string;
  /** Every user table's exact row count, in the snapshot (a full scan of each table). */
  countRows(options?: { signal?: AbortSignal }): Promise<TableStat[]>;
  /** Ends the exporting transaction and closes its session. Idempotent; never throws. */
  release(): Promise<void>;
}

/** Session settings of an exporting session: it idles in its transaction while Pachyderm resumes. */
const HOLDING_SETTINGS = "SET idle_in_transaction_session_timeout = 0; SET statement_timeout = 0; SET lock_timeout = '30s'";

/**
 * Exports a snapshot of `database` and holds it (see HeldSnapshot). Fails with PachbackupError 'unavailable'
 * (connection), 'precondition' (the server cannot export: too old, no privilege, a pooler in statement mode),
 * naming the database and PostgreSQL's reason.
 */
export async function exportSnapshot(postgres: PostgresConfig, database: string): Promise<HeldSnapshot> {
  const client = await connectPostgres(postgres, database);
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  };
  try {
    await client.query(HOLDING_SETTINGS);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const exported = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const id = exported.rows[0]!.id;
    return {
      database,
      id,
      exportedAt: new Date().toISOString(),
      countRows: async (options = {}) => {
        if (released) throw new PachbackupError('internal', `the snapshot of database "${database}" was already released`);
        const onAbort = () => void release();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          return await countTableRows(client);
        } catch (err) {
          throw new PachbackupError('unavailable', `counting the rows of database "${database}" in its snapshot failed: ${describeError(err)}`, { cause: err });
        } finally {
          options.signal?.removeEventListener('abort', onAbort);
        }
      },
      release,
    };
  } catch (err) {
    await release();
    throw new PachbackupError('precondition', `cannot export a snapshot of database "${database}" (${describeConnection(postgres, database)}): ${describeError(err)}`, { cause: err });
  }
}

/** Exports a snapshot of every database, all at once; if one fails, the others are released and it is thrown. */
export async function exportSnapshots(postgres: PostgresConfig, databases: readonly string[]): Promise<HeldSnapshot[]> {
  const settled = await Promise.allSettled(databases.map((database) => exportSnapshot(postgres, database)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<HeldSnapshot>).value);
  await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.release() : undefined)));
  throw failed.reason;
}

/** Whether snapshots can be exported and imported on the configured path to PostgreSQL, and if not, why. */
export type SnapshotPath = { usable: true } | { usable: false; reason: string };

/** PostgreSQL 9.2 introduced `pg_export_snapshot()` and `SET TRANSACTION SNAPSHOT`. */
const MIN_SERVER_VERSION = 90200;

/**
 * Tries, without changing anything, what a snapshot backup does on the configured path: exports a snapshot
 * of each database in one session and imports it in another (as `pg_dump --snapshot` will), and checks that
 * consecutive statements reach the same server session (a transaction-mode pooler hands each transaction to
 * any server connection, and pg_dump's session settings would not follow). Never throws for an unusable path:
 * it says why, so the backup can dump while paused instead.
 */
export async function probeSnapshotPath(postgres: PostgresConfig, databases: readonly string[]): Promise<SnapshotPath> {
  const reasons = await Promise.all(databases.map((database) => probeDatabase(postgres, database)));
  const problems = reasons.filter((r): r is string => r !== undefined);
  return problems.length === 0 ? { usable: true } : { usable: false, reason: problems.join('; ') };
}

async function probeDatabase(postgres: PostgresConfig, database: string): Promise<string | undefined> {
  let exporter: pg.Client | undefined;
  let importer: pg.Client | undefined;
  try {
    exporter = await connectPostgres(postgres, database);
    const version = Number((await exporter.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]!.v);
    if (version < MIN_SERVER_VERSION) return `database "${database}": PostgreSQL ${version} cannot export snapshots (9.2 or newer can)`;
    const pid = async (client: pg.Client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const [first, second] = [await pid(exporter), await pid(exporter)];
    if (first !== second) {
      return `database "${database}": ${postgres.host}:${postgres.port} hands consecutive statements to different server sessions (a transaction-mode pooler such as pg-bouncer); point postgres.host at the PostgreSQL server itself`;
    }
    await exporter.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const id = (await exporter.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
    importer = await connectPostgres(postgres, database);
    await importer.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await importer.query(`SET TRANSACTION SNAPSHOT ${importer.escapeLiteral(id)}`);
    await importer.query('ROLLBACK');
    return undefined;
  } catch (err) {
    return `database "${database}": ${describeError(err)}`;
  } finally {
    await Promise.all([exporter, importer].map((c) => c?.end().catch(() => undefined)));
  }
}
