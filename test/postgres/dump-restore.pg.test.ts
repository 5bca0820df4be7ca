import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { createDatabase } from '../../src/postgres/create-database.js';
import { dumpDatabase, type DumpProgress, type DumpResult } from '../../src/postgres/dump-database.js';
import { listDump } from '../../src/postgres/list-dump.js';
import { restoreDatabase, type RestoreProgress } from '../../src/postgres/restore-database.js';
import { tableChecksums, tableStats } from '../../src/postgres/server-info.js';
import { createPachydermSchema, seedDexDatabase, seedPachydermRows } from '../../src/sandbox/seed/pachyderm-database.js';
import { createTestBucket, createTestDatabase, uniqueName } from '../support/services.js';
import { listKeys, testPostgresConfig, withUrl } from './postgres-fixtures.js';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

describe('dumping into the backup store and restoring from it', () => {
  let source: TestDatabase;
  let dex: TestDatabase;
  let bucket: Awaited<ReturnType<typeof createTestBucket>>;
  const cleanup: Array<() => Promise<void>> = [];
  let dump: DumpResult;
  const progress: DumpProgress[] = [];
  const signal = new AbortController().signal;

  /** A database name this suite owns, dropped after it. */
  function scratchName(prefix: string): string {
    const name = uniqueName(prefix).replace(/-/g, '_');
    cleanup.push(() => withUrl(source.url.replace(/\/[^/]+$/, '/postgres'), (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined));
    return name;
  }

  /** An empty folder this suite owns, removed after it. */
  function scratchFolder(): string {
    const dir = mkdtempSync(join(tmpdir(), 'pachbackup-restore-test-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  beforeAll(async () => {
    source = await createTestDatabase('dumpsrc');
    dex = await createTestDatabase('dumpdex');
    bucket = await createTestBucket('dumps');
    await withUrl(source.url, async (c) => {
      await createPachydermSchema(c);
      await seedPachydermRows(c, 'small');
    });
    await withUrl(dex.url, (c) => seedDexDatabase(c));
    dump = await dumpDatabase({
      postgres: testPostgresConfig([source.name, dex.name]),
      database: source.name,
      target: { s3: bucket.s3, bucket: bucket.name, key: `run-1/${source.name}.dump` },
      signal,
      onProgress: (p) => progress.push(p),
    });
  });
  afterAll(async () => {
    for (const undo of cleanup.reverse()) await undo();
    await source?.drop();
    await dex?.drop();
    await bucket?.drop();
  });

  it('stores exactly the bytes it reports, with their sha256', async () => {
    const got = await bucket.s3.send(new GetObjectCommand({ Bucket: bucket.name, Key: dump.key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.length).toBe(dump.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(dump.sha256);
    expect(bytes.subarray(0, 5).toString('ascii')).toBe('PGDMP');
    expect(dump).toMatchObject({ database: source.name, format: 'custom' });
    expect(dump.pgDumpVersion).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
    expect(dump.serverVersion).toMatch(/^\d+\.\d+/);
    expect(progress.at(-1)).toEqual({ database: source.name, bytes: dump.bytes });
  });

  it('restores into a fresh database with every table equal to the source', async () => {
    const target = scratchName('restored');
    expect(await createDatabase(testPostgresConfig([]), target)).toEqual({ name: target, created: true, replaced: false });
    const steps: RestoreProgress[] = [];
    const tempDir = scratchFolder();
    const restored = await restoreDatabase({
      postgres: testPostgresConfig([target]),
      database: target,
      source: { s3: bucket.s3, bucket: bucket.name, key: dump.key },
      expectedSha256: dump.sha256,
      jobs: 3,
      signal,
      onProgress: (p) => steps.push(p),
      tempDir,
    });
    expect(restored).toMatchObject({ database: target, bytes: dump.bytes, sha256: dump.sha256, jobs: 3 });
    expect(readdirSync(tempDir)).toEqual([]);

    const before = await tableChecksums(source.url, source.name);
    const after = await tableChecksums(testPostgresConfig([target]), target);
    expect(before.length).toBeGreaterThanOrEqual(20);
    expect(after).toEqual(before);
    expect(await tableStats(testPostgresConfig([target]), target)).toEqual(await tableStats(source.url, source.name));
    expect(before.find((t) => t.schema === 'pfs' && t.table === 'commits')?.rows).toBe(400);

    const download = steps.filter((s) => s.phase === 'download');
    expect(download.at(-1)).toMatchObject({ bytes: dump.bytes, totalBytes: dump.bytes });
    const restoring = steps.filter((s) => s.phase === 'restore');
    expect(restoring.length).toBeGreaterThan(0);
    const last = restoring.at(-1)!;
    expect(last.phase === 'restore' && last.itemsDone).toBeGreaterThan(0);
  });

  it('restores the dex database too, sequences and all (single job)', async () => {
    const dexDump = await dumpDatabase({
      postgres: testPostgresConfig([dex.name]),
      database: dex.name,
      target: { s3: bucket.s3, bucket: bucket.name, key: `run-1/${dex.name}.dump` },
      signal,
    });
    const target = scratchName('dexrestored');
    await createDatabase(testPostgresConfig([]), target);
    await restoreDatabase({ postgres: testPostgresConfig([target]), database: target, source: { s3: bucket.s3, bucket: bucket.name, key: dexDump.key }, expectedSha256: dexDump.sha256, jobs: 1, signal });
    expect(await tableChecksums(testPostgresConfig([target]), target)).toEqual(await tableChecksums(dex.url, dex.name));
  });

  it('restores when the roles that owned and were granted the source objects do not exist on the target', async () => {
    const owned = scratchName('owned');
    const role = `${owned}_owner`;
    const admin = source.url.replace(/\/[^/]+$/, '/postgres');
    cleanup.push(() => withUrl(admin, (c) => c.query(`DROP ROLE IF EXISTS ${role}`)).then(() => undefined));
    await withUrl(admin, async (c) => {
      await c.query(`CREATE ROLE ${role}`);
      await c.query(`CREATE DATABASE ${owned}`);
    });
    await withUrl(admin.replace(/\/postgres$/, `/${owned}`), (c) =>
      c.query(`CREATE TABLE keys (name text PRIMARY KEY, data bytea); INSERT INTO keys VALUES ('default', '\\x0102');
               ALTER TABLE keys OWNER TO ${role}; GRANT SELECT ON keys TO ${role}`),
    );
    const ownedDump = await dumpDatabase({ postgres: testPostgresConfig([owned]), database: owned, target: { s3: bucket.s3, bucket: bucket.name, key: `run-1/${owned}.dump` }, signal });
    const expected = await tableChecksums(admin, owned);
    await withUrl(admin, async (c) => {
      await c.query(`DROP DATABASE ${owned} WITH (FORCE)`);
      await c.query(`DROP ROLE ${role}`);
    });

    const target = scratchName('ownedrestored');
    await createDatabase(testPostgresConfig([]), target);
    await restoreDatabase({ postgres: testPostgresConfig([target]), database: target, source: { s3: bucket.s3, bucket: bucket.name, key: ownedDump.key }, expectedSha256: ownedDump.sha256, signal });
    expect(await tableChecksums(testPostgresConfig([target]), target)).toEqual(expected);
    const owner = await withUrl(admin.replace(/\/postgres$/, `/${target}`), async (c) => (await c.query<{ o: string }>(`SELECT tableowner AS o FROM pg_tables WHERE tablename = 'keys'`)).rows[0]!.o);
    expect(owner).toBe('postgres');
  });

  it('refuses a wrong sha256 before restoring anything', async () => {
    const target = scratchName('wrongsum');
    await createDatabase(testPostgresConfig([]), target);
    const tempDir = scratchFolder();
    const err = await restoreDatabase({
      postgres: testPostgresConfig([target]),
      database: target,
      source: { s3: bucket.s3, bucket: bucket.name, key: dump.key },
      expectedSha256: 'f'.repeat(64),
      signal,
      tempDir,
    }).catch((e: unknown) => e);
    expect(readdirSync(tempDir)).toEqual([]);
    expect(err).toBeInstanceOf(PachbackupError);
    expect((err as PachbackupError).code).toBe('integrity');
    expect((err as PachbackupError).message).toContain('sha256 mismatch');
    expect(await tableStats(testPostgresConfig([target]), target)).toEqual([]);
  });

  it('refuses to restore into a database that is not empty, and createDatabase only replaces it when asked', async () => {
    const target = scratchName('busy');
    await createDatabase(testPostgresConfig([]), target);
    await withUrl(source.url.replace(/\/[^/]+$/, `/${target}`), (c) => c.query('CREATE TABLE leftover (id int)'));
    const restoring = await restoreDatabase({ postgres: testPostgresConfig([target]), database: target, source: { s3: bucket.s3, bucket: bucket.name, key: dump.key }, expectedSha256: dump.sha256, signal }).catch((e: unknown) => e);
    expect((restoring as PachbackupError).code).toBe('conflict');
    const creating = await createDatabase(testPostgresConfig([]), target).catch((e: unknown) => e);
    expect((creating as PachbackupError).code).toBe('conflict');
    expect(await createDatabase(testPostgresConfig([]), target, { overwrite: true })).toEqual({ name: target, created: true, replaced: true });
    expect(await tableStats(testPostgresConfig([target]), target)).toEqual([]);
    expect(await createDatabase(testPostgresConfig([]), target)).toEqual({ name: target, created: false, replaced: false });
  });

  it('refuses to restore into a database that does not exist', async () => {
    const err = await restoreDatabase({ postgres: testPostgresConfig([]), database: 'never_created_db', source: { s3: bucket.s3, bucket: bucket.name, key: dump.key }, expectedSha256: dump.sha256, signal }).catch((e: unknown) => e);
    expect((err as PachbackupError).code).toBe('precondition');
    expect((err as PachbackupError).message).toContain('never_created_db');
  });

  it('never overwrites an existing dump', async () => {
    const err = await dumpDatabase({ postgres: testPostgresConfig([source.name]), database: source.name, target: { s3: bucket.s3, bucket: bucket.name, key: dump.key }, signal }).catch((e: unknown) => e);
    expect((err as PachbackupError).code).toBe('conflict');
    const got = await bucket.s3.send(new GetObjectCommand({ Bucket: bucket.name, Key: dump.key }));
    expect(createHash('sha256').update(Buffer.from(await got.Body!.transformToByteArray())).digest('hex')).toBe(dump.sha256);
  });

  it('lists the entries of a good dump and rejects a damaged one by its sha256', async () => {
    const source1 = { s3: bucket.s3, bucket: bucket.name, key: dump.key };
    const listing = await listDump({ source: source1, expectedSha256: dump.sha256, signal });
    expect(listing.entries).toBeGreaterThan(20);
    expect(listing).toMatchObject({ bytes: dump.bytes, sha256: dump.sha256, databaseName: source.name });
    expect(listing.dumpedFromServer).toMatch(/^\d+\.\d+/);

    const got = await bucket.s3.send(new GetObjectCommand({ Bucket: bucket.name, Key: dump.key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    const middle = Math.floor(bytes.length / 2);
    for (let i = middle; i < middle + 8; i++) bytes[i] = bytes[i]! ^ 0xff;
    const damagedKey = `run-1/${source.name}.damaged.dump`;
    await bucket.s3.send(new PutObjectCommand({ Bucket: bucket.name, Key: damagedKey, Body: bytes }));

    const err = await listDump({ source: { ...source1, key: damagedKey }, expectedSha256: dump.sha256, signal }).catch((e: unknown) => e);
    expect((err as PachbackupError).code).toBe('integrity');
    expect((err as PachbackupError).message).toMatch(/sha256 mismatch .*damaged/);
    expect(await listKeys(bucket.s3, bucket.name)).toContain(dump.key);
  });
});
