import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksums, tableStats } from '../../src/postgres/server-info.js';
import { createTestDatabase } from '../support/services.js';
import { withUrl } from './postgres-fixtures.js';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

describe('table statistics and checksums', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  const schema = `
    CREATE SCHEMA pfs;
    CREATE TABLE pfs.commits (id bigint PRIMARY KEY, made timestamptz, note text, data bytea, ratio double precision, tags text[]);
    CREATE TABLE public.empty_table (id int);
    CREATE EXTENSION IF NOT EXISTS pg_trgm;`;
  const rows = (order: 'ASC' | 'DESC'): string => `
    INSERT INTO pfs.commits
      SELECT n, timestamptz '2026-01-01 00:00:00+00' + n * interval '1 minute', CASE WHEN n % 7 = 0 THEN NULL ELSE 'commit ' || n END,
             decode(md5(n::text), 'hex'), n / 3.0, ARRAY['a', n::text]
        FROM generate_series(1, 500) n ORDER BY n ${order}`;

  beforeAll(async () => {
    a = await createTestDatabase('sums');
    b = await createTestDatabase('sums');
    // Same rows, inserted in opposite orders, under different session time zones.
    await withUrl(a.url, async (c) => {
      await c.query(schema);
      await c.query(`SET TimeZone = 'America/New_York'`);
      await c.query(rows('ASC'));
    });
    await withUrl(b.url, async (c) => {
      await c.query(schema);
      await c.query(`SET TimeZone = 'Asia/Tokyo'`);
      await c.query(rows('DESC'));
    });
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('counts the rows of every user table, in schema order', async () => {
    expect(await tableStats(a.url, a.name)).toEqual([
      { schema: 'pfs', table: 'commits', rows: 500 },
      { schema: 'public', table: 'empty_table', rows: 0 },
    ]);
  });

  it('gives equal checksums for equal contents, whatever the physical order', async () => {
    expect(await tableChecksums(a.url, a.name)).toEqual(await tableChecksums(b.url, b.name));
  });

  it('changes the checksum when one value changes, and when rows swap a value', async () => {
    const before = await tableChecksums(b.url, b.name);
    await withUrl(b.url, (c) => c.query(`UPDATE pfs.commits SET ratio = ratio + 1e-12 WHERE id = 250`));
    const afterEdit = await tableChecksums(b.url, b.name);
    expect(afterEdit[0]!.rows).toBe(500);
    expect(afterEdit[0]!.checksum).not.toBe(before[0]!.checksum);
    expect(afterEdit[1]).toEqual(before[1]);

    await withUrl(b.url, (c) => c.query(`UPDATE pfs.commits SET ratio = ratio - 1e-12 WHERE id = 250`));
    expect(await tableChecksums(b.url, b.name)).toEqual(before);
    await withUrl(b.url, (c) => c.query(`UPDATE pfs.commits SET note = CASE id WHEN 1 THEN 'commit 2' ELSE 'commit 1' END WHERE id IN (1, 2)`));
    expect((await tableChecksums(b.url, b.name))[0]!.checksum).not.toBe(before[0]!.checksum);
  });
});
