import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { inject } from 'vitest';
import type { ObjectStoreConfig } from '../../src/config/config.js';
import { createS3Client } from '../../src/object-store/s3-client.js';
import { S3RVER_CREDENTIALS } from '../../src/sandbox/services/s3.js';

/** The shared real services started by test/global-setup.ts. */
export interface TestServices {
  postgresUrl: string;
  postgresPort: number;
  caFile: string;
  redisUrl: string;
  s3Endpoint: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: TestServices;
  }
}

export function services(): TestServices {
  return inject('services');
}

/** A short random suffix for names a test owns (databases, buckets, queues). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A fresh database on the shared PostgreSQL; `drop()` removes it. */
export async function createTestDatabase(prefix = 'test', serverUrl = services().postgresUrl): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix).replace(/-/g, '_');
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = serverUrl.replace(/\/postgres$/, `/${name}`);
  return {
    name,
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** An object-store config for a bucket on the shared s3rver (or the one at `endpoint`). */
export function testStore(bucket: string, prefix = '', endpoint = services().s3Endpoint): ObjectStoreConfig {
  return { endpoint, region: 'us-east-1', bucket, prefix, forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } };
}

/** A fresh bucket on the shared s3rver (or the one at `endpoint`); `drop()` empties and removes it. */
export async function createTestBucket(prefix = 'test', endpoint = services().s3Endpoint): Promise<{ name: string; s3: S3Client; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  const s3 = createS3Client(testStore(name, '', endpoint));
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return {
    name,
    s3,
    drop: async () => {
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: name, ContinuationToken: token }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }));
        token = page.NextContinuationToken;
      } while (token);
      await s3.send(new DeleteBucketCommand({ Bucket: name }));
      s3.destroy();
    },
  };
}
