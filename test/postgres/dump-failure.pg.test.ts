import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { dumpDatabase } from '../../src/postgres/dump-database.js';
import { createS3Client } from '../../src/object-store/s3-client.js';
import { createTestBucket, createTestDatabase, testStore } from '../support/services.js';
import { listKeys, objectExists, recordCommands, testPostgresConfig, withUrl } from './postgres-fixtures.js';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

const MiB = 1024 * 1024;

describe('a dump that fails leaves nothing behind', () => {
  let big: TestDatabase;
  let bucket: Awaited<ReturnType<typeof createTestBucket>>;
  let scripts: string;

  beforeAll(async () => {
    big = await createTestDatabase('dumpfail');
    bucket = await createTestBucket('dumpfail');
    scripts = mkdtempSync(join(tmpdir(), 'pachbackup-fake-pg-dump-'));
    // 32 MiB of incompressible rows: far more than a held upload (one 5 MiB part in flight, one filling)
    // and the pipes between can buffer, so pg_dump is still inside COPY when its backend is terminated.
    await withUrl(big.url, async (c) => {
      await c.query('CREATE TABLE blobs (id int PRIMARY KEY, payload bytea NOT NULL)');
      for (let batch = 0; batch < 8; batch++) {
        const rows = Array.from({ length: 16 }, () => randomBytes(256 * 1024));
        await c.query('INSERT INTO blobs SELECT $1::int * 16 + ord, payload FROM unnest($2::bytea[]) WITH ORDINALITY AS u(payload, ord)', [batch, rows]);
      }
    });
  });
  afterAll(async () => {
    await big?.drop();
    await bucket?.drop();
    if (scripts) rmSync(scripts, { recursive: true, force: true });
  });

  /** A stand-in pg_dump: answers --version like version `major`, otherwise runs `body` (sh). */
  function fakePgDump(name: string, major: number, body: string): string {
    const path = join(scripts, name);
    writeFileSync(path, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) ${major}.1"; exit 0; fi\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it('names the database and the cause when the database does not exist', async () => {
    const key = 'run-x/missing.dump';
    const err = await dumpDatabase({
      postgres: testPostgresConfig(['missing_database']),
      database: 'missing_database',
      target: { s3: bucket.s3, bucket: bucket.name, key },
      signal: new AbortController().signal,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PachbackupError);
    expect((err as PachbackupError).code).toBe('unavailable');
    expect((err as PachbackupError).message).toMatch(/missing_database.*does not exist/);
    expect(await objectExists(bucket.s3, bucket.name, key)).toBe(false);
  });

  it('aborts the multipart upload when pg_dump dies mid-table (backend terminated)', async () => {
    const s3 = createS3Client(testStore(bucket.name));
    const recorder = recordCommands(s3, { holdUploadParts: true });
    const key = `run-1/${big.name}.dump`;
    const dumping = dumpDatabase({
      postgres: testPostgresConfig([big.name]),
      database: big.name,
      target: { s3, bucket: bucket.name, key },
      signal: new AbortController().signal,
      partSizeBytes: 5 * MiB,
      queueSize: 1,
    }).catch((e: unknown) => e);

    // The first part is on its way and held: pg_dump is blocked inside COPY. Terminate its backend, then let go.
    await recorder.firstPartHeld;
    const terminated = await withUrl(big.url, async (c) => {
      const r = await c.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
          WHERE datname = $1 AND application_name = 'pachbackup' AND pid <> pg_backend_pid() AND query ILIKE 'COPY%'`,
        [big.name],
      );
      return r.rows.filter((row) => row.ok).length;
    });
    expect(terminated).toBe(1);
    recorder.release();

    const err = (await dumping) as PachbackupError;
    expect(err).toBeInstanceOf(PachbackupError);
    expect(err.code).toBe('unavailable');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`pg_dump of database "${big.name}"`);
    // pg_dump's own words; the server's FATAL may or may not get through a TLS session blocked in a write.
    expect(err.message).toMatch(/Dumping the contents of table "blobs" failed/);

    const names = recorder.sent.map((c) => c.name);
    const created = recorder.sent.find((c) => c.name === 'CreateMultipartUploadCommand');
    expect(created?.uploadId).toBeTruthy();
    expect(names).toContain('UploadPartCommand');
    expect(names).not.toContain('CompleteMultipartUploadCommand');
    expect(names).not.toContain('PutObjectCommand');
    // Every multipart upload that was started was told to abort. (s3rver answers AbortMultipartUpload and
    // ListMultipartUploads with 405/501, so whether the store then holds no parts cannot be read back here.)
    expect(recorder.sent.filter((c) => c.name === 'AbortMultipartUploadCommand').map((c) => c.uploadId)).toContain(created?.uploadId);
    expect(await objectExists(bucket.s3, bucket.name, key)).toBe(false);
    s3.destroy();
  });

  it('stops pg_dump and keeps nothing when cancelled mid-dump', async () => {
    const s3 = createS3Client(testStore(bucket.name));
    const recorder = recordCommands(s3, { holdUploadParts: true });
    const key = `run-2/${big.name}.dump`;
    const controller = new AbortController();
    const dumping = dumpDatabase({
      postgres: testPostgresConfig([big.name]),
      database: big.name,
      target: { s3, bucket: bucket.name, key },
      signal: controller.signal,
      partSizeBytes: 5 * MiB,
      queueSize: 1,
    }).catch((e: unknown) => e);
    await recorder.firstPartHeld;
    controller.abort();
    recorder.release();
    const err = (await dumping) as PachbackupError;
    expect(err.code).toBe('cancelled');
    expect(recorder.sent.map((c) => c.name)).not.toContain('CompleteMultipartUploadCommand');
    expect(await objectExists(bucket.s3, bucket.name, key)).toBe(false);
    // pg_dump has exited when dumpDatabase returns; its backend goes once it notices the closed socket.
    const sessionsLeft = await withUrl(big.url, async (c) => {
      for (let attempt = 0; ; attempt++) {
        const r = await c.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pachbackup' AND pid <> pg_backend_pid()`, [big.name]);
        if (r.rowCount === 0 || attempt === 100) return r.rowCount;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    expect(sessionsLeft).toBe(0);
    s3.destroy();
  });

  it('does not complete a small upload when pg_dump fails after writing part of an archive', async () => {
    const pgDumpPath = fakePgDump('fails-late', 15, `printf 'PGDMP\\001\\016\\000 partial archive'; echo "pg_dump: error: query failed: server closed the connection unexpectedly" >&2; exit 1`);
    const key = 'run-3/partial.dump';
    const s3 = createS3Client(testStore(bucket.name));
    const recorder = recordCommands(s3);
    const err = (await dumpDatabase({
      postgres: testPostgresConfig([big.name]),
      database: big.name,
      target: { s3, bucket: bucket.name, key },
      signal: new AbortController().signal,
      pgDumpPath,
    }).catch((e: unknown) => e)) as PachbackupError;
    expect(err.code).toBe('unavailable');
    expect(err.message).toMatch(/exited with code 1: error: query failed: server closed the connection unexpectedly/);
    // The end of the stream waits for pg_dump's exit status: the partial archive is never even sent.
    expect(recorder.sent.map((c) => c.name)).not.toContain('PutObjectCommand');
    expect(await objectExists(bucket.s3, bucket.name, key)).toBe(false);
    s3.destroy();
  });

  it('does not store an empty or non-archive output even when pg_dump exits 0', async () => {
    const pgDumpPath = fakePgDump('silent', 15, 'exit 0');
    const key = 'run-4/empty.dump';
    const err = (await dumpDatabase({
      postgres: testPostgresConfig([big.name]),
      database: big.name,
      target: { s3: bucket.s3, bucket: bucket.name, key },
      signal: new AbortController().signal,
      pgDumpPath,
    }).catch((e: unknown) => e)) as PachbackupError;
    expect(err.code).toBe('integrity');
    expect(err.message).toMatch(/0 bytes\) is not a custom-format archive/);
    expect(await objectExists(bucket.s3, bucket.name, key)).toBe(false);
  });

  it('refuses a pg_dump older than the server before dumping', async () => {
    const pgDumpPath = fakePgDump('old', 12, 'echo should not run >&2; exit 3');
    const err = (await dumpDatabase({
      postgres: testPostgresConfig([big.name]),
      database: big.name,
      target: { s3: bucket.s3, bucket: bucket.name, key: 'run-5/old.dump' },
      signal: new AbortController().signal,
      pgDumpPath,
    }).catch((e: unknown) => e)) as PachbackupError;
    expect(err.code).toBe('precondition');
    expect(err.message).toMatch(/^pg_dump 12 cannot dump a PostgreSQL \d+ server/);
    expect(await listKeys(bucket.s3, bucket.name)).toEqual([]);
  });
});
