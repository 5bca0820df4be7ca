/**
 * Starts the real services every test suite shares — PostgreSQL (with TLS), Redis and s3rver — once per run,
 * with the sandbox's own starters. Suites isolate themselves by name: a random database, bucket or queue each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { stopProcess } from '../src/sandbox/processes.js';
import { startPostgres } from '../src/sandbox/services/postgres.js';
import { startRedis } from '../src/sandbox/services/redis.js';
import { startS3 } from '../src/sandbox/services/s3.js';
import type { TestServices } from './support/services.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'pachbackup-test-'));
  const started = await Promise.allSettled([
    startPostgres({ dataDir: join(dir, 'postgres') }),
    startRedis({ directory: dir, logFile: join(dir, 'redis.log') }),
    startS3({ directory: join(dir, 's3'), buckets: [], logFile: join(dir, 's3.log') }),
  ] as const);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    // Stop whatever did start, so a failed setup leaves nothing running.
    for (const s of started) if (s.status === 'fulfilled') await stopProcess(s.value.pid, { signal: 'SIGINT' });
    rmSync(dir, { recursive: true, force: true });
    throw failed.reason;
  }
  const [postgres, redis, s3] = started.map((s) => (s as PromiseFulfilledResult<{ pid: number }>).value) as unknown as [
    Awaited<ReturnType<typeof startPostgres>>,
    Awaited<ReturnType<typeof startRedis>>,
    Awaited<ReturnType<typeof startS3>>,
  ];
  const services: TestServices = {
    postgresUrl: postgres.url,
    postgresPort: postgres.port,
    caFile: postgres.caFile,
    redisUrl: redis.url,
    s3Endpoint: s3.endpoint,
  };
  project.provide('services', services);
  return async () => {
    await Promise.all([stopProcess(s3.pid), stopProcess(redis.pid), stopProcess(postgres.pid, { signal: 'SIGINT' })]);
    rmSync(dir, { recursive: true, force: true });
  };
}
