import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalEndpoint, sameBucket, sameBucketSpelling } from '../../src/identity/same-bucket.js';
import { createS3Client } from '../../src/object-store/s3-client.js';
import { stopProcess } from '../../src/sandbox/processes.js';
import { startS3, type SandboxS3 } from '../../src/sandbox/services/s3.js';
import { listAll } from '../object-store/s3-fixtures.js';
import { createTestBucket, services, testStore } from '../support/services.js';

describe('same bucket? asked of the store, not read from the spelling', () => {
  let bucket: Awaited<ReturnType<typeof createTestBucket>>;
  let other: SandboxS3;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pachbackup-identity-'));
    bucket = await createTestBucket('identity');
    // Another S3 service holding a bucket of the same name: same spelling of the bucket, another bucket.
    other = await startS3({ directory: join(dir, 's3'), buckets: [bucket.name], logFile: join(dir, 's3.log') });
  });
  afterAll(async () => {
    if (other) await stopProcess(other.pid);
    await bucket?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const access = (endpoint: string) => {
    const store = { ...testStore(bucket.name), endpoint };
    return { store, s3: createS3Client(store) };
  };

  it('canonicalizes the spellings of one AWS service (no request is made)', () => {
    const aws = [
      { region: 'us-east-1' },
      { region: 'eu-west-1' },
      { endpoint: 'https://s3.amazonaws.com', region: 'us-east-1' },
      { endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1' },
      { endpoint: 'https://s3-eu-west-1.amazonaws.com/', region: 'eu-west-1' },
      { endpoint: 'https://S3.DualStack.us-east-1.amazonaws.com', region: 'us-east-1' },
    ];
    for (const store of aws) expect(canonicalEndpoint(store), JSON.stringify(store)).toBe('aws');
    expect(canonicalEndpoint({ endpoint: 'https://s3.cn-north-1.amazonaws.com.cn', region: 'cn-north-1' })).toBe('aws-cn');
    expect(canonicalEndpoint({ endpoint: 'https://MinIO.example.com.', region: 'us-east-1' })).toBe(canonicalEndpoint({ endpoint: 'https://minio.example.com:443', region: 'us-east-1' }));
    expect(sameBucketSpelling({ bucket: 'b', region: 'us-east-1' }, { bucket: 'b', endpoint: 'https://s3.amazonaws.com', region: 'us-east-1' })).toBe(true);
    // Spelling alone cannot tell these apart; the store is asked (below).
    expect(canonicalEndpoint({ endpoint: 'http://localhost:9000', region: 'us-east-1' })).not.toBe(canonicalEndpoint({ endpoint: 'http://127.0.0.1:9000', region: 'us-east-1' }));
  });

  it('finds http://localhost:P and http://127.0.0.1:P to be one bucket, and leaves no marker behind', async () => {
    const port = new URL(services().s3Endpoint).port;
    const answer = await sameBucket(access(`http://127.0.0.1:${port}`), access(`http://localhost:${port}`), { markerPrefix: 'pachbackup' });
    expect(answer).toMatchObject({ verdict: 'same', how: expect.stringMatching(/marker written to .* was found/) });
    expect((await listAll(bucket.s3, bucket.name)).size).toBe(0);
  });

  it('finds a bucket of the same name on another S3 service to be another bucket', async () => {
    const answer = await sameBucket(access(services().s3Endpoint), access(other.endpoint));
    expect(answer).toMatchObject({ verdict: 'different', how: expect.stringMatching(/is not at/) });
  });

  it('says it cannot tell when the second store does not answer', async () => {
    const answer = await sameBucket(access(services().s3Endpoint), access('http://127.0.0.1:9'));
    expect(answer.verdict).toBe('unknown');
    expect((await listAll(bucket.s3, bucket.name)).size).toBe(0);
  });
});
