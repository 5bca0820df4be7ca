import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { checkDumpCompatible, findPgTool, parseToolVersion, toolVersion } from '../../src/postgres/pg-tools.js';

describe('finding and checking the PostgreSQL client tools', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('refuses pg_dump older than the server, naming the package to install', () => {
    const err = checkDumpCompatible(15, 16);
    expect(err).toBeInstanceOf(PachbackupError);
    expect(err?.code).toBe('precondition');
    expect(err?.message).toBe("pg_dump 15 cannot dump a PostgreSQL 16 server (pg_dump must be the server's major version or newer)");
    expect(err?.hint).toContain('postgresql-client-16');
    expect(checkDumpCompatible(15, 15)).toBeUndefined();
    expect(checkDumpCompatible(16, 15)).toBeUndefined();
    expect(checkDumpCompatible(15, 9.6)).toBeUndefined();
    expect(checkDumpCompatible(15, 9.1)?.code).toBe('precondition');
  });

  it('reads the installed pg_dump version', async () => {
    const path = findPgTool('pg_dump');
    const version = await toolVersion(path);
    const newestInstalled = Math.max(...readdirSync('/usr/lib/postgresql').map(Number).filter(Number.isFinite));
    expect(path).toBe(`/usr/lib/postgresql/${newestInstalled}/bin/pg_dump`);
    expect(version.major).toBe(newestInstalled);
    expect(version.minor).toBeGreaterThanOrEqual(0);
    expect(version.text).toMatch(/^pg_dump \(PostgreSQL\) /);
  });

  it('parses release, old-style and development version lines', () => {
    expect(parseToolVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n')).toMatchObject({ major: 15, minor: 18 });
    expect(parseToolVersion('pg_dump (PostgreSQL) 9.6.24')).toMatchObject({ major: 9.6, minor: 24 });
    expect(parseToolVersion('pg_restore (PostgreSQL) 17beta1')).toMatchObject({ major: 17, minor: 0 });
    expect(parseToolVersion('something else')).toBeUndefined();
  });

  it('prefers the highest major under the Debian root, and an explicit path over both', () => {
    const root = mkdtempSync(join(tmpdir(), 'pachbackup-pgroot-'));
    dirs.push(root);
    for (const major of ['9.6', '14', '16', '15']) {
      mkdirSync(join(root, major, 'bin'), { recursive: true });
      writeFileSync(join(root, major, 'bin', 'pg_restore'), '#!/bin/sh\n');
      chmodSync(join(root, major, 'bin', 'pg_restore'), 0o755);
    }
    mkdirSync(join(root, '17', 'bin'), { recursive: true }); // a server-only install without pg_restore
    expect(findPgTool('pg_restore', { root, path: '' })).toBe(join(root, '16', 'bin', 'pg_restore'));
    expect(findPgTool('pg_restore', { root, explicitPath: join(root, '14', 'bin', 'pg_restore') })).toBe(join(root, '14', 'bin', 'pg_restore'));
    expect(() => findPgTool('pg_restore', { explicitPath: join(root, 'nope') })).toThrow(/not found or not executable/);
    expect(() => findPgTool('psql', { root, path: '' })).toThrow(expect.objectContaining({ code: 'dependency-missing' }));
  });
});
