import type pg from 'pg';
import type { PostgresConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { withPostgresClient } from '../postgres/connection.js';

/**
 * A drill's scratch databases carry their drill: each is created with the comment `pachbackup drill <drill-id>`
 * right after CREATE DATABASE, and a drill drops or reuses only a database whose comment names it. A database that
 * merely has the scratch name — made by someone else, or by another drill — is never used, changed or dropped.
 * (A process killed between CREATE DATABASE and the comment leaves its scratch behind, unowned: the drill's
 * "scratch removed" check cannot see it, and the drill's id in its name says whose it was.)
 */
export function scratchMarker(drillId: string): string {
  return `pachbackup drill ${drillId}`;
}

const MAINTENANCE_DATABASE = 'postgres';

/** The comment of database `name` on the server, or null; undefined when there is no such database. */
async function commentOf(client: pg.Client, name: string): Promise<string | null | undefined> {
  const { rows } = await client.query<{ comment: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`, [name]);
  return rows.length === 0 ? undefined : rows[0]!.comment;
}

/**
 * Creates the empty scratch database `name` of drill `drillId` (from template0) and marks it as the drill's. A
 * database of that name that is already the drill's (an earlier attempt made it) is kept; any other is refused
 * with a 'conflict' naming it.
 */
export async function createScratchDatabase(config: PostgresConfig, name: string, drillId: string, signal?: AbortSignal): Promise<{ created: boolean }> {
  return withPostgresClient(
    config,
    MAINTENANCE_DATABASE,
    async (client) => {
      const comment = await commentOf(client, name);
      if (comment === scratchMarker(drillId)) return { created: false };
      if (comment !== undefined) {
        throw new PachbackupError('conflict', `database "${name}" already exists: a drill never uses or drops a database it did not create`, {
          hint: 'drop or rename it if nobody needs it, or run the drill again: a new drill gets new scratch names',
        });
      }
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE template0`);
      await client.query(`COMMENT ON DATABASE ${client.escapeIdentifier(name)} IS ${client.escapeLiteral(scratchMarker(drillId))}`);
      return { created: true };
    },
    signal ? { signal } : {},
  );
}

/** Drops database `name` if it is drill `drillId`'s scratch (its sessions ended); true when it did. */
export async function dropScratchDatabase(config: PostgresConfig, name: string, drillId: string, signal?: AbortSignal): Promise<boolean> {
  return withPostgresClient(
    config,
    MAINTENANCE_DATABASE,
    async (client) => {
      if ((await commentOf(client, name)) !== scratchMarker(drillId)) return false;
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      return true;
    },
    signal ? { signal } : {},
  );
}

/** Which of `names` are drill `drillId`'s scratch databases and still exist. */
export async function scratchDatabasesLeft(config: PostgresConfig, names: readonly string[], drillId: string): Promise<string[]> {
  return withPostgresClient(config, MAINTENANCE_DATABASE, async (client) => {
    const left: string[] = [];
    for (const name of names) if ((await commentOf(client, name)) === scratchMarker(drillId)) left.push(name);
    return left;
  });
}
