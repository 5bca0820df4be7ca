import type pg from 'pg';
import type { PostgresConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { withPostgresClient } from '../postgres/connection.js';
import { countUserObjects } from '../postgres/create-database.js';

/** PostgreSQL's limit on identifiers (NAMEDATALEN - 1), in bytes. */
export const MAX_DATABASE_NAME_BYTES = 63;

/** The database PostgreSQL clients connect to for CREATE/DROP/ALTER DATABASE. */
const MAINTENANCE_DATABASE = 'postgres';

/** `name` with `suffix` appended, the name shortened so the whole stays within PostgreSQL's 63 bytes. */
export function suffixedName(name: string, suffix: string): string {
  const room = MAX_DATABASE_NAME_BYTES - Buffer.byteLength(suffix);
  let base = name;
  while (Buffer.byteLength(base) > room) base = base.slice(0, -1);
  return `${base}${suffix}`;
}

/** A database on the target server as a restore sees it: absent, empty, or holding `objects` user objects. */
export interface DatabaseState {
  name: string;
  exists: boolean;
  /** User objects (relations, functions, schemas); 0 when absent. */
  objects: number;
}

/** Whether each named database exists on the server and how many user objects it holds. */
export async function inspectDatabases(config: PostgresConfig, names: string[], signal?: AbortSignal): Promise<DatabaseState[]> {
  const existing = await withPostgresClient(
    config,
    MAINTENANCE_DATABASE,
    async (client) => new Set((await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [names])).rows.map((r) => r.datname)),
    signal ? { signal } : {},
  );
  return Promise.all(
    names.map(async (name) => ({
      name,
      exists: existing.has(name),
      objects: existing.has(name) ? await withPostgresClient(config, name, countUserObjects, signal ? { signal } : {}) : 0,
    })),
  );
}

/** What the connecting role may do to databases: create them (CREATEDB), and which databases it owns. */
export interface RolePrivileges {
  role: string;
  superuser: boolean;
  createDatabases: boolean;
  /** Owner of each named database that exists. */
  owners: Record<string, string>;
}

/**
 * The connecting role's privileges for a restore: creating the staging databases needs CREATEDB (or a
 * superuser), and replacing an existing database means dropping it, which only its owner (or a superuser) may.
 */
export async function inspectRole(config: PostgresConfig, names: string[], signal?: AbortSignal): Promise<RolePrivileges> {
  return withMaintenance(
    config,
    async (client) => {
      const role = (await client.query<{ rolname: string; rolsuper: boolean; rolcreatedb: boolean }>('SELECT rolname, rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user')).rows[0]!;
      const owned = await client.query<{ datname: string; owner: string }>('SELECT d.datname, r.rolname AS owner FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = ANY($1)', [names]);
      return { role: role.rolname, superuser: role.rolsuper, createDatabases: role.rolsuper || role.rolcreatedb, owners: Object.fromEntries(owned.rows.map((r) => [r.datname, r.owner])) };
    },
    signal,
  );
}

async function withMaintenance<T>(config: PostgresConfig, fn: (client: pg.Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
  return withPostgresClient(config, MAINTENANCE_DATABASE, fn, signal ? { signal } : {});
}

/** Drops the database if it exists, ending its sessions (`WITH (FORCE)`, PostgreSQL 13+). Idempotent. */
export async function dropDatabaseIfExists(config: PostgresConfig, name: string, signal?: AbortSignal): Promise<boolean> {
  return withMaintenance(
    config,
    async (client) => {
      const exists = (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
      if (exists) await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      return exists;
    },
    signal,
  );
}

/**
 * Puts the database `from` in the place of `to`: drops `to` if it exists (its sessions ended), then renames
 * `from` to `to`. Both statements run on one connection, one right after the other, so the target name is
 * missing only for that instant. Refuses when `from` does not exist.
 */
export async function replaceDatabase(config: PostgresConfig, from: string, to: string, signal?: AbortSignal): Promise<{ replaced: boolean }> {
  return withMaintenance(
    config,
    async (client) => {
      const present = new Set((await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [[from, to]])).rows.map((r) => r.datname));
      if (!present.has(from)) throw new PachbackupError('precondition', `database "${from}" does not exist on ${config.host}:${config.port}; nothing to put in place of "${to}"`);
      // A stray session on the restored copy would block the rename.
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [from]);
      if (present.has(to)) await client.query(`DROP DATABASE ${client.escapeIdentifier(to)} WITH (FORCE)`);
      await client.query(`ALTER DATABASE ${client.escapeIdentifier(from)} RENAME TO ${client.escapeIdentifier(to)}`);
      return { replaced: present.has(to) };
    },
    signal,
  );
}
