import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPostgresClient } from '../../src/postgres/connection.js';
import { RetryingPool } from '../../src/postgres/postgres-retry.js';
import { withRetryNotices, type RetryNotice } from '../../src/runner/retry-notices.js';
import { stopProcess } from '../../src/sandbox/processes.js';
import { startPostgres, type SandboxPostgres } from '../../src/sandbox/services/postgres.js';

/** A server of its own: it is stopped and started here. */
let dir: string;
let server: SandboxPostgres;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pachbackup-pg-retry-'));
  server = await startPostgres({ dataDir: join(dir, 'pg') });
});
afterAll(async () => {
  if (server) await stopProcess(server.pid, { signal: 'SIGINT' });
  rmSync(dir, { recursive: true, force: true });
});

/** Stops the server, and starts it again on the same port `ms` later (`back` resolves then). */
async function restartAfter(ms: number): Promise<{ back: Promise<void> }> {
  await stopProcess(server.pid, { signal: 'SIGINT' });
  return { back: new Promise((resolve, reject) => setTimeout(() => startPostgres({ dataDir: server.dataDir, port: server.port }).then((s) => ((server = s), resolve()), reject), ms)) };
}

describe('PostgreSQL connections retried while the server cannot be reached', () => {
  it('the state database pool waits out a restart, telling the running step', async () => {
    const pool = new RetryingPool({ service: 'the state database', connectionString: server.url, max: 2 });
    pool.on('error', () => undefined);
    try {
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      const { back } = await restartAfter(1500);
      const notices: RetryNotice[] = [];
      const { rows } = await withRetryNotices((n) => notices.push(n), () => pool.query<{ one: number }>('SELECT 1 AS one'));
      expect(rows).toEqual([{ one: 1 }]);
      expect(notices[0]).toMatchObject({ type: 'retrying', service: 'the state database', error: 'ECONNREFUSED' });
      expect(notices.at(-1)).toMatchObject({ type: 'recovered' });
      await back;
    } finally {
      await pool.end();
    }
  });

  it('a connection to a configured database waits out a restart too', async () => {
    const { back } = await restartAfter(1500);
    expect(await withPostgresClient(server.url, 'postgres', async (c) => (await c.query('SELECT 2 AS two')).rows)).toEqual([{ two: 2 }]);
    await back;
  });

  it('a statement cut off once connected is not run again (it may have run)', async () => {
    const pool = new RetryingPool({ service: 'the state database', connectionString: server.url, max: 2 });
    pool.on('error', () => undefined);
    try {
      const running = pool.query('SELECT pg_sleep(5)');
      await new Promise((r) => setTimeout(r, 500));
      const restarting = restartAfter(500);
      await expect(running).rejects.toBeDefined();
      await (await restarting).back;
    } finally {
      await pool.end();
    }
  });
});
