import type pg from 'pg';
import type { PostgresConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { withPostgresClient } from './connection.js';

/** What `createDatabase` did. */
export interface CreateDatabaseResult {
  name: string;
  /** True when the database was created (or re-created) now; false when an empty one was already there. */
  created: boolean;
  /** True when a non-empty database was dropped first (`overwrite`). */
  replaced: boolean;
}

/** Options for `createDatabase`. */
export interface CreateDatabaseOptions {
  /** Role to own the new database; default the connecting user. */
  owner?: string;
  /** Drop a non-empty database of that name first (its sessions are terminated). Default false: refuse. */
  overwrite?: boolean;
  /** Database to connect to for CREATE/DROP DATABASE; default `postgres`. */
  maintenanceDatabase?: string;
  signal?: AbortSignal;
}

/**
 * The user objects in a database: relations and functions outside the system schemas, and schemas other
 * than `public`. Zero means a restore into it cannot collide with anything.
 */
export async function countUserObjects(client: pg.ClientBase): Promise<number> {
  const result = await client.query<{ n: string }>(`
    SELECT (
      (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%')
    + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
    + (SELECT count(*) FROM pg_namespace n
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%')
    )::text AS n`);
  return Number(result.rows[0]!.n);
}

/**
 * Makes sure an empty database `name` exists to restore into. It is created from `template0` (as PostgreSQL's
 * docs advise for restores: nothing added to template1 can collide with the dump). An existing empty database
 * is kept; an existing non-empty one is refused with 'conflict' unless `overwrite`, which drops it
 * (`DROP DATABASE … WITH (FORCE)`, PostgreSQL 13+) and creates it again.
 */
export async function createDatabase(config: PostgresConfig, name: string, options: CreateDatabaseOptions = {}): Promise<CreateDatabaseResult> {
  const signal = options.signal;
  const maintenance = options.maintenanceDatabase ?? 'postgres';
  return withPostgresClient(
    config,
    maintenance,
    async (client) => {
      const exists = (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
      let replaced = false;
      if (exists) {
        const objects = await withPostgresClient(config, name, countUserObjects, signal ? { signal } : {});
        if (objects === 0) return { name, created: false, replaced: false };
        if (!options.overwrite) {
          throw new PachbackupError('conflict', `database "${name}" on ${config.host}:${config.port} already exists and is not empty (${objects} objects)`, {
            hint: 'restore into a new database name, or drop this one first if it is really meant to be replaced',
          });
        }
        await client.query(`DROP DATABASE ${client.escapeIdentifier(name)} WITH (FORCE)`);
        replaced = true;
      }
      const owner = options.owner !== undefined ? ` OWNER ${client.escapeIdentifier(options.owner)}` : '';
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${owner} TEMPLATE template0`);
      return { name, created: true, replaced };
    },
    signal ? { signal } : {},
  );
}
