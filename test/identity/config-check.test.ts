import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { listAll } from '../object-store/s3-fixtures.js';
import { runCli } from '../support/run-cli.js';
import { createTestBucket, createTestDatabase, services } from '../support/services.js';

/**
 * `pachbackup config check` against real S3 and PostgreSQL: the same bucket or database spelt two ways
 * (`http://localhost:P` and `http://127.0.0.1:P`, host `localhost` and `127.0.0.1`) is found to be one.
 */
describe('config check asks the systems, not the spelling', () => {
  let dir: string;
  let clusterBucket: Awaited<ReturnType<typeof createTestBucket>>;
  let otherBucket: Awaited<ReturnType<typeof createTestBucket>>;
  let backupBucket: Awaited<ReturnType<typeof createTestBucket>>;
  let secret: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pachbackup-config-identity-'));
    secret = join(dir, 's3-secret');
    writeFileSync(secret, 'S3RVER\n');
    [clusterBucket, otherBucket, backupBucket] = await Promise.all([createTestBucket('cluster'), createTestBucket('other'), createTestBucket('backup')]);
  });
  afterAll(async () => {
    await Promise.all([clusterBucket?.drop(), otherBucket?.drop(), backupBucket?.drop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const port = () => new URL(services().s3Endpoint).port;
  const store = (bucket: string, host: string, prefix = '') => ({ endpoint: `http://${host}:${port()}`, bucket, prefix, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: { file: secret } });
  const cluster = (o: { bucket: string; backupStore: Record<string, unknown>; pgHost?: string; databases?: string[] }) => ({
    kubernetes: { context: 'sandbox' },
    postgres: { host: o.pgHost ?? '127.0.0.1', port: services().postgresPort, user: 'postgres', sslmode: 'require', databases: o.databases ?? ['pachyderm', 'dex'] },
    objectStore: store(o.bucket, '127.0.0.1'),
    backupStore: o.backupStore,
  });
  async function check(clusters: Record<string, unknown>, ...flags: string[]) {
    const file = join(dir, `config-${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(file, stringify({ stateDatabase: { url: 'postgres://pachbackup@127.0.0.1/state' }, redis: { url: 'redis://127.0.0.1:6379' }, clusters }));
    return runCli(['config', 'check', '--config', file, ...flags]);
  }

  it('refuses a backup store that is the cluster\'s own bucket reached as localhost, which the file alone cannot tell', async () => {
    const clusters = { prod: cluster({ bucket: clusterBucket.name, backupStore: store(clusterBucket.name, 'localhost', 'pachbackup') }) };
    const offline = await check(clusters, '--offline');
    expect(offline.code, offline.stderr).toBe(0);
    const result = await check(clusters);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`clusters\\.prod\\.backupStore: s3://${clusterBucket.name} at http://localhost:\\d+ is the cluster's own bucket, s3://${clusterBucket.name} at http://127\\.0\\.0\\.1:\\d+; expected a separate bucket.*marker written to .* was found`));
    expect((await listAll(clusterBucket.s3, clusterBucket.name)).size).toBe(0); // the marker is gone
  });

  it('refuses a backup store that is another cluster\'s bucket', async () => {
    const result = await check({
      prod: cluster({ bucket: clusterBucket.name, backupStore: store(otherBucket.name, 'localhost') }),
      dev: cluster({ bucket: otherBucket.name, backupStore: store(backupBucket.name, '127.0.0.1'), databases: ['dev_pachyderm'] }),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`clusters.prod.backupStore: s3://${otherBucket.name} at http://localhost:${port()} is the bucket cluster dev runs on`);
  });

  it('refuses two clusters on the same databases when one names the server localhost and the other 127.0.0.1', async () => {
    const dex = await createTestDatabase('dex');
    try {
      const result = await check({
        prod: cluster({ bucket: clusterBucket.name, backupStore: store(backupBucket.name, '127.0.0.1', 'prod'), databases: ['pachyderm', dex.name] }),
        dev: cluster({ bucket: otherBucket.name, backupStore: store(backupBucket.name, '127.0.0.1', 'dev'), pgHost: 'localhost', databases: ['dev_pachyderm', dex.name] }),
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`clusters\\.dev\\.postgres: database "${dex.name}" on localhost:\\d+ is cluster prod's \\(127\\.0\\.0\\.1:\\d+\\); expected each cluster on databases of its own \\(.*same system identifier`));
    } finally {
      await dex.drop();
    }
  });

  it('accepts separate buckets and separate databases on one server, sharing a backup store, and leaves nothing behind', async () => {
    const result = await check({
      prod: cluster({ bucket: clusterBucket.name, backupStore: store(backupBucket.name, 'localhost', 'pachbackup') }),
      dev: cluster({ bucket: otherBucket.name, backupStore: store(backupBucket.name, '127.0.0.1', 'pachbackup'), pgHost: 'localhost', databases: ['dev_pachyderm', 'dev_dex'] }),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/OK — 2 clusters/);
    expect((await listAll(backupBucket.s3, backupBucket.name)).size).toBe(0);
  });
});
