import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { PostgresConfig } from '../config/config.js';
import { describeError } from '../errors.js';
import { connectPostgres, withPostgresClient } from '../postgres/connection.js';
import type { Sameness } from './same-bucket.js';

/** A PostgreSQL server as a configuration reaches it, and a database there the configured role may connect to. */
export interface ServerAccess {
  config: PostgresConfig;
  database: string;
}

/** `host:port` in one spelling (lower case, no trailing dot). `localhost` and `127.0.0.1` stay different: see `sameServer`. */
export function canonicalServer(config: Pick<PostgresConfig, 'host' | 'port'>): string {
  return `${config.host.trim().toLowerCase().replace(/\.$/, '')}:${config.port}`;
}

/**
 * Whether `a` and `b` reach the same PostgreSQL server (cluster). The same canonical host and port are the same
 * server. Otherwise the servers are asked: `system_identifier` from `pg_control_system()` (set once by initdb;
 * a streaming replica shares it with its primary, which is counted as the same — refusing to write there is the
 * safe answer); where the role may not call it, a session opened through `a` with a random `application_name` is
 * looked for by pid in `pg_stat_activity` through `b` (visible to every role). Unreachable: unknown. Two
 * databases are the same when their servers are and their names are equal.
 */
export async function sameServer(a: ServerAccess, b: ServerAccess, options: { signal?: AbortSignal } = {}): Promise<Sameness> {
  if (canonicalServer(a.config) === canonicalServer(b.config)) return { verdict: 'same', how: `the same host and port (${canonicalServer(a.config)})` };
  const where = (s: ServerAccess) => `${s.config.host}:${s.config.port}`;
  try {
    const [idA, idB] = await Promise.all([systemIdentifier(a, options.signal), systemIdentifier(b, options.signal)]);
    if (idA !== undefined && idB !== undefined) {
      return idA === idB
        ? { verdict: 'same', how: `${where(a)} and ${where(b)} report the same system identifier (${idA})` }
        : { verdict: 'different', how: `${where(a)} and ${where(b)} report different system identifiers` };
    }
    return await sessionProbe(a, b, options.signal);
  } catch (err) {
    return { verdict: 'unknown', how: `could not ask ${where(a)} and ${where(b)}: ${describeError(err)}` };
  }
}

/** The server's `system_identifier`, or undefined when the role may not read it. */
async function systemIdentifier(server: ServerAccess, signal: AbortSignal | undefined): Promise<string | undefined> {
  return withPostgresClient(
    server.config,
    server.database,
    async (client) => {
      try {
        const { rows } = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
        return rows[0]?.id;
      } catch {
        return undefined; // permission denied (EXECUTE revoked): ask the other way
      }
    },
    signal ? { signal } : {},
  );
}

/** Opens a session through `a` named with a nonce and looks for it (pid and name) through `b`. */
async function sessionProbe(a: ServerAccess, b: ServerAccess, signal: AbortSignal | undefined): Promise<Sameness> {
  const nonce = `pachbackup-identity-${randomBytes(8).toString('hex')}`;
  let session: pg.Client | undefined;
  try {
    session = await connectPostgres(a.config, a.database);
    await session.query(`SET application_name = '${nonce}'`);
    const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const seen = await withPostgresClient(
      b.config,
      b.database,
      async (client) => (await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND application_name = $2', [pid, nonce])).rowCount ?? 0,
      signal ? { signal } : {},
    );
    return seen > 0
      ? { verdict: 'same', how: `a session opened through ${a.config.host}:${a.config.port} is listed by ${b.config.host}:${b.config.port}` }
      : { verdict: 'different', how: `a session opened through ${a.config.host}:${a.config.port} is not listed by ${b.config.host}:${b.config.port}` };
  } finally {
    await session?.end().catch(() => undefined);
  }
}
