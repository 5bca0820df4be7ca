import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/object-store/s3-client.js';
import { createStoreRetryStrategy, STORE_RETRY_POLICY } from '../../src/object-store/store-retry-strategy.js';
import { withRetryNotices, type RetryNotice } from '../../src/runner/retry-notices.js';
import { freePort, stopProcess } from '../../src/sandbox/processes.js';
import { startS3FaultProxy, type S3FaultProxy } from '../../src/sandbox/s3-fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3 } from '../../src/sandbox/services/s3.js';

/** A store of its own (it is stopped and started here), behind the fault proxy. */
let dir: string;
let s3rver: { pid: number; port: number };
let proxy: S3FaultProxy;
const BUCKET = 'retries';
const client = () => createS3Client({ endpoint: proxy.endpoint, region: 'us-east-1', bucket: BUCKET, prefix: '', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pachbackup-retries-'));
  const port = await freePort();
  s3rver = await startS3({ directory: join(dir, 's3'), buckets: [BUCKET], logFile: join(dir, 's3.log'), port });
  proxy = await startS3FaultProxy({ upstream: `http://127.0.0.1:${port}` });
});
afterAll(async () => {
  await proxy?.close();
  if (s3rver) await stopProcess(s3rver.pid);
  rmSync(dir, { recursive: true, force: true });
});

describe('object-store requests retried by the class of failure', () => {
  it('ride out 503 SlowDown for a while, telling the running step that they retry and when the store answers again', async () => {
    const s3 = client();
    const notices: RetryNotice[] = [];
    proxy.faults.slowDownUntil = Date.now() + 1500;
    await withRetryNotices((n) => notices.push(n), () => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a', Body: 'hello' })));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a' }));
    expect(await got.Body!.transformToString()).toBe('hello');
    expect(proxy.slowDowns()).toBeGreaterThan(0);
    expect(notices[0]).toMatchObject({ type: 'retrying', service: `the object store (${proxy.endpoint}, bucket retries)`, error: 'HTTP 503 SlowDown' });
    expect(notices.at(-1)).toMatchObject({ type: 'recovered' });
    s3.destroy();
  });

  it('ride out the store being stopped and started again a few seconds later', async () => {
    const s3 = client();
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'b', Body: 'still here' }));
    await stopProcess(s3rver.pid);
    const restarted = new Promise<void>((resolve, reject) =>
      setTimeout(() => startS3({ directory: join(dir, 's3'), buckets: [], logFile: join(dir, 's3.log'), port: s3rver.port }).then((s) => ((s3rver = s), resolve()), reject), 2500),
    );
    const started = Date.now();
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'b' }));
    expect(await got.Body!.transformToString()).toBe('still here');
    expect(Date.now() - started).toBeGreaterThan(2000);
    await restarted;
    s3.destroy();
  });

  it('never retry what the store refuses (a missing key is answered once)', async () => {
    const s3 = client();
    const before = proxy.requests();
    await expect(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    expect(proxy.requests() - before).toBe(1);
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'x' }))).rejects.toBeDefined(); // an invalid name: 400, not retried
    expect(proxy.requests() - before).toBe(2);
    s3.destroy();
  });
});

describe('the object-store retry strategy', () => {
  const strategy = createStoreRetryStrategy('the store', { ...STORE_RETRY_POLICY, budgetMs: 2000, unreachableBudgetMs: 500 }, () => 1);
  const answered = (status: number) => ({ $metadata: { httpStatusCode: status }, name: 'SlowDown', message: '' }) as never;

  it('backs off exponentially to its cap, waits as long as Retry-After asks, and stops at the budget', async () => {
    let token = await strategy.acquireInitialRetryToken('');
    const delays: number[] = [];
    for (;;) {
      try {
        token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING', error: answered(503) });
      } catch {
        break;
      }
      delays.push(token.getRetryDelay());
      await new Promise((r) => setTimeout(r, token.getRetryDelay()));
    }
    expect(delays.slice(0, 3)).toEqual([200, 400, 800]);
    expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2000);

    const fresh = await strategy.acquireInitialRetryToken('');
    const hinted = await strategy.refreshRetryTokenForRetry(fresh, { errorType: 'THROTTLING', error: answered(503), retryAfterHint: new Date(Date.now() + 1500) });
    expect(hinted.getRetryDelay()).toBeGreaterThan(1400);
  });

  it('refuses to retry a client error, and gives up sooner on a store that does not answer', async () => {
    const token = await strategy.acquireInitialRetryToken('');
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'CLIENT_ERROR', error: answered(404) })).rejects.toThrow();
    let t = token;
    let waited = 0;
    for (;;) {
      try {
        t = await strategy.refreshRetryTokenForRetry(t, { errorType: 'TRANSIENT', error: { name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' } as never });
      } catch {
        break;
      }
      waited += t.getRetryDelay();
      await new Promise((r) => setTimeout(r, t.getRetryDelay()));
    }
    expect(waited).toBeLessThanOrEqual(500);
  });
});
