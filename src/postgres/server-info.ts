import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresConfig } from '../config/config.js';
import { withPostgresClient, type PostgresServer } from './connection.js';

/** What a PostgreSQL server is and how pachbackup's connection to it looks, as seen from one database. */
export interface ServerInfo {
  /** `server_version_num`, e.g. 150018. */
  versionNumber: number;
  /** `server_version`, e.g. "15.18 (Debian 15.18-0+deb12u1)". */
  version: string;
  /** Major version: 15 for 15.18; 9.6 for 9.6.24 (before PostgreSQL 10 the major had two parts). */
  major: number;
  /** True when this session is encrypted (pg_stat_ssl). */
  ssl: boolean;
  /** The TLS protocol version when `ssl`, e.g. "TLSv1.3". */
  sslVersion: string | undefined;
  /** Each configured database: whether it exists and its size (`pg_database_size`). */
  databases: DatabaseSize[];
}

/** One database's size on disk, or `exists: false` when the server has no database of that name. */
export interface DatabaseSize {
  name: string;
  exists: boolean;
  /** Bytes on disk; null when the database does not exist. */
  bytes: number | null;
}

/** A user table and its exact row count (`count(*)`, not the planner's estimate). */
export interface TableStat {
  schema: string;
  table: string;
  rows: number;
}

/** A user table's row count and a checksum of its contents. */
export interface TableChecksum extends TableStat {
  /**
   * Hex digest of the table's rows as a multiset: every row's text form (`t::text`, under fixed session
   * settings) is hashed with md5 and the hashes are summed, so the value does not depend on physical row order
   * and needs neither a sort nor memory proportional to the table. Equal tables give equal checksums; a
   * changed, missing or extra row changes it.
   */
  checksum: string;
}

/** The major version in a `server_version_num`: 150018 → 15, 90624 → 9.6. */
export function majorFromVersionNumber(versionNumber: number): number {
  if (versionNumber >= 100000) return Math.floor(versionNumber / 10000);
  return Math.floor(versionNumber / 10000) + (Math.floor(versionNumber / 100) % 100) / 10;
}

/**
 * Connects to `database` and reports the server version, whether the session uses TLS, and the size of every
 * database in `config.databases`. Fails with PachbackupError 'unavailable' when the server cannot be reached.
 */
export async function inspectServer(config: PostgresConfig, database: string, options: { signal?: AbortSignal } = {}): Promise<ServerInfo> {
  return withPostgresClient(
    config,
    database,
    async (client) => {
      const version = await client.query<{ num: string; text: string; ssl: boolean | null; ssl_version: string | null }>(
        `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text,
                s.ssl, s.version AS ssl_version
           FROM (SELECT 1) one LEFT JOIN pg_stat_ssl s ON s.pid = pg_backend_pid()`,
      );
      const row = version.rows[0]!;
      const sizes = await client.query<{ name: string; bytes: string | null }>(
        `SELECT n.name, (SELECT pg_database_size(d.oid) FROM pg_database d WHERE d.datname = n.name)::text AS bytes
           FROM unnest($1::text[]) AS n(name)`,
        [config.databases],
      );
      const versionNumber = Number(row.num);
      return {
        versionNumber,
        version: row.text,
        major: majorFromVersionNumber(versionNumber),
        ssl: row.ssl === true,
        sslVersion: row.ssl ? (row.ssl_version ?? undefined) : undefined,
        databases: sizes.rows.map((r) => ({ name: r.name, exists: r.bytes !== null, bytes: r.bytes === null ? null : Number(r.bytes) })),
      };
    },
    options,
  );
}

/** Ordinary tables outside the system schemas, not belonging to an extension, in (schema, table) order. */
async function listUserTables(client: pg.ClientBase): Promise<Array<{ schema: string; table: string }>> {
  const result = await client.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
  );
  return result.rows;
}

function qualified(client: pg.ClientBase, schema: string, table: string): string {
  return `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`;
}

/**
 * Every user table of `database` with its exact row count — what a restore drill compares between the source
 * and the restored copy. Counting is a full scan of each table: expect it to take as long as reading the data.
 */
export async function tableStats(server: PostgresServer, database: string, options: { signal?: AbortSignal } = {}): Promise<TableStat[]> {
  return withPostgresClient(server, database, countTableRows, options);
}

/**
 * `tableStats` on a connected client, in whatever transaction it is in — inside a snapshot's transaction the
 * counts are the snapshot's.
 */
export async function countTableRows(client: pg.ClientBase): Promise<TableStat[]> {
  const stats: TableStat[] = [];
  for (const { schema, table } of await listUserTables(client)) {
    const count = await client.query<{ rows: string }>(`SELECT count(*)::text AS rows FROM ${qualified(client, schema, table)}`);
    stats.push({ schema, table, rows: Number(count.rows[0]!.rows) });
  }
  return stats;
}

/**
 * Every user table of `database` with its row count and a content checksum (see `TableChecksum.checksum`) —
 * proof that a restored database holds exactly the rows of its source. The session's output settings are
 * pinned (UTC, ISO dates, hex bytea, shortest-exact floats) so two servers render the same values alike.
 */
export async function tableChecksums(server: PostgresServer, database: string, options: { signal?: AbortSignal } = {}): Promise<TableChecksum[]> {
  return withPostgresClient(
    server,
    database,
    async (client) => {
      await client.query(
        `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
         SET extra_float_digits = 3; SET bytea_output = 'hex'`,
      );
      const sums: TableChecksum[] = [];
      for (const { schema, table } of await listUserTables(client)) {
        const result = await client.query<{ rows: string; high: string; low: string }>(
          `SELECT count(*)::text AS rows,
                  coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text AS high,
                  coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text AS low
             FROM (SELECT md5(t::text) AS h FROM ${qualified(client, schema, table)} t) hashed`,
        );
        const row = result.rows[0]!;
        const checksum = createHash('sha256').update(`${row.rows}:${row.high}:${row.low}`).digest('hex');
        sums.push({ schema, table, rows: Number(row.rows), checksum });
      }
      return sums;
    },
    options,
  );
}
