import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { libpqEnvironment, serverOffersTls, withPostgresClient } from '../../src/postgres/connection.js';
import { findPgTool } from '../../src/postgres/pg-tools.js';
import { inspectServer } from '../../src/postgres/server-info.js';
import { createTestDatabase, services } from '../support/services.js';
import { makeUnrelatedCa, testPostgresConfig, withUrl } from './postgres-fixtures.js';

const run = promisify(execFile);

describe('connecting to PostgreSQL by sslmode', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let wrongCa: string;
  beforeAll(async () => {
    db = await createTestDatabase('conn');
    await withUrl(db.url, (c) => c.query('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000)'));
    wrongCa = await makeUnrelatedCa();
  });
  afterAll(async () => db?.drop());

  it('verify-full with the right CA connects over TLS and reports version and database sizes', async () => {
    const info = await inspectServer(testPostgresConfig([db.name, 'no_such_db']), db.name);
    expect(info.ssl).toBe(true);
    expect(info.sslVersion).toMatch(/^TLS/);
    expect(info.major).toBeGreaterThanOrEqual(15);
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(info.databases[0]).toMatchObject({ name: db.name, exists: true });
    expect(info.databases[0]!.bytes).toBeGreaterThan(0);
    expect(info.databases[1]).toEqual({ name: 'no_such_db', exists: false, bytes: null });
  });

  it('verify-full with a CA that did not sign the server certificate fails, saying so', async () => {
    const err = await inspectServer(testPostgresConfig([db.name], { sslRootCert: wrongCa }), db.name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PachbackupError);
    expect((err as PachbackupError).code).toBe('unavailable');
    expect((err as PachbackupError).retryable).toBe(false);
    expect((err as PachbackupError).message).toMatch(/TLS verification of postgres@127\.0\.0\.1:\d+\/\w+ \(sslmode verify-full\) failed/);
    expect((err as PachbackupError).hint).toContain(wrongCa);
  });

  it('verify-ca with the wrong CA fails too', async () => {
    const err = await inspectServer(testPostgresConfig([db.name], { sslmode: 'verify-ca', sslRootCert: wrongCa }), db.name).catch((e: unknown) => e);
    expect((err as PachbackupError).message).toMatch(/TLS verification/);
  });

  it('require with a root certificate verifies the chain, like libpq', async () => {
    const err = await inspectServer(testPostgresConfig([db.name], { sslmode: 'require', sslRootCert: wrongCa }), db.name).catch((e: unknown) => e);
    expect((err as PachbackupError).message).toMatch(/TLS verification/);
  });

  it('require without a root certificate encrypts without verifying; prefer uses TLS when offered', async () => {
    const { sslRootCert: _unused, ...noCa } = testPostgresConfig([db.name]);
    expect((await inspectServer({ ...noCa, sslmode: 'require' }, db.name)).ssl).toBe(true);
    expect((await inspectServer({ ...noCa, sslmode: 'prefer' }, db.name)).ssl).toBe(true);
  });

  it('disable and allow connect without TLS', async () => {
    expect((await inspectServer(testPostgresConfig([db.name], { sslmode: 'disable' }), db.name)).ssl).toBe(false);
    expect((await inspectServer(testPostgresConfig([db.name], { sslmode: 'allow' }), db.name)).ssl).toBe(false);
  });

  it('sessions carry application_name pachbackup', async () => {
    const name = await withPostgresClient(testPostgresConfig([db.name]), db.name, async (c) => (await c.query<{ n: string }>("SELECT current_setting('application_name') AS n")).rows[0]!.n);
    expect(name).toBe('pachbackup');
  });

  it('never puts the password in an error', async () => {
    const config = testPostgresConfig(['missing_db'], { password: 'hunter2-very-secret' });
    const err = (await inspectServer(config, 'missing_db').catch((e: unknown) => e)) as PachbackupError;
    expect(err.code).toBe('unavailable');
    expect(err.message).toContain('missing_db');
    expect(err.hint).toMatch(/does not exist/);
    expect(`${err.message} ${err.hint} ${err.stack}`).not.toContain('hunter2');
  });

  it('gives libpq tools the same connection and TLS behaviour (psql, verify-full)', async () => {
    const psql = findPgTool('psql');
    const query = ['-XAtc', "SELECT s.ssl, current_setting('application_name') FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()"];
    const ok = await run(psql, query, { env: libpqEnvironment(testPostgresConfig([db.name]), db.name, { PATH: process.env.PATH, PGDATABASE: 'postgres', PGSERVICE: 'bogus' }) });
    expect(ok.stdout.trim()).toBe('t|pachbackup');
    const plain = await run(psql, query, { env: libpqEnvironment(testPostgresConfig([db.name], { sslmode: 'disable' }), db.name) });
    expect(plain.stdout.trim()).toBe('f|pachbackup');
    const wrong = await run(psql, query, { env: libpqEnvironment(testPostgresConfig([db.name], { sslRootCert: wrongCa }), db.name) }).catch((e: { stderr: string }) => e);
    expect((wrong as { stderr: string }).stderr).toMatch(/certificate verify failed/);
  });

  it('libpq environment holds the password only in PGPASSWORD and drops stray PG variables', () => {
    const env = libpqEnvironment(testPostgresConfig(['x'], { password: 's3cret' }), 'x', { PGSERVICE: 'other', PGOPTIONS: '-c x=y', HOME: '/root' });
    expect(env).toMatchObject({ PGHOST: '127.0.0.1', PGUSER: 'postgres', PGDATABASE: 'x', PGSSLMODE: 'verify-full', PGSSLROOTCERT: services().caFile, PGAPPNAME: 'pachbackup', PGCONNECT_TIMEOUT: '10', PGPASSWORD: 's3cret', HOME: '/root' });
    expect(env.PGSERVICE).toBeUndefined();
    expect(env.PGOPTIONS).toBeUndefined();
  });

  it('asks a server whether it speaks TLS before choosing for prefer', async () => {
    expect(await serverOffersTls('127.0.0.1', services().postgresPort)).toBe(true);
    const noTls = createServer((socket) => socket.once('data', () => socket.write('N')));
    await new Promise<void>((resolve) => noTls.listen(0, '127.0.0.1', resolve));
    try {
      const port = (noTls.address() as { port: number }).port;
      expect(await serverOffersTls('127.0.0.1', port)).toBe(false);
    } finally {
      noTls.close();
    }
  });
});
