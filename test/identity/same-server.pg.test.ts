import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresConfig } from '../../src/config/config.js';
import { sameServer } from '../../src/identity/same-server.js';
import { stopProcess } from '../../src/sandbox/processes.js';
import { startPostgres, type SandboxPostgres } from '../../src/sandbox/services/postgres.js';
import { services } from '../support/services.js';

describe('same PostgreSQL? asked of the servers, not read from the host name', () => {
  let dir: string;
  let other: SandboxPostgres;

  const on = (host: string, port: number, user = 'postgres'): PostgresConfig => ({ host, port, user, sslmode: 'require', databases: ['postgres'] });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pachbackup-identity-pg-'));
    other = await startPostgres({ dataDir: join(dir, 'postgres') });
    // A role that may not read pg_control_system(), as on managed services that revoke it.
    const admin = new pg.Client({ connectionString: other.url });
    await admin.connect();
    await admin.query(`CREATE ROLE plain LOGIN`);
    await admin.query('REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC');
    await admin.end();
  });
  afterAll(async () => {
    if (other) await stopProcess(other.pid, { signal: 'SIGINT' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds host localhost and host 127.0.0.1 to be one server, by its system identifier', async () => {
    const port = services().postgresPort;
    const answer = await sameServer({ config: on('localhost', port), database: 'postgres' }, { config: on('127.0.0.1', port), database: 'postgres' });
    expect(answer).toMatchObject({ verdict: 'same', how: expect.stringMatching(/same system identifier/) });
  });

  it('finds another server on the same host to be another server', async () => {
    const answer = await sameServer({ config: on('127.0.0.1', services().postgresPort), database: 'postgres' }, { config: on('localhost', other.port), database: 'postgres' });
    expect(answer).toMatchObject({ verdict: 'different', how: expect.stringMatching(/different system identifiers/) });
  });

  it('asks pg_stat_activity when the role may not read the system identifier', async () => {
    const same = await sameServer({ config: on('localhost', other.port, 'plain'), database: 'postgres' }, { config: on('127.0.0.1', other.port, 'plain'), database: 'postgres' });
    expect(same).toMatchObject({ verdict: 'same', how: expect.stringMatching(/session opened through localhost:\d+ is listed by 127\.0\.0\.1/) });
    const different = await sameServer({ config: on('localhost', other.port, 'plain'), database: 'postgres' }, { config: on('127.0.0.1', services().postgresPort), database: 'postgres' });
    expect(different).toMatchObject({ verdict: 'different', how: expect.stringMatching(/is not listed/) });
  });

  it('says it cannot tell when a server does not answer', async () => {
    const answer = await sameServer({ config: on('127.0.0.1', services().postgresPort), database: 'postgres' }, { config: on('localhost', 9), database: 'postgres' });
    expect(answer.verdict).toBe('unknown');
  });
});
