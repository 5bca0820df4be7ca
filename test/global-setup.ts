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
  const [postgres, redis, s3] = await Promise.all([
    startPostgres({ dataDir: join(dir, 'postgres') }),
    startRedis({ directory: dir, logFile: join(dir, 'redis.log') }),
    startS3({ directory: join(dir, 's3'), buckets: [], logFile: join(dir, 's3.log') }),
  ]);
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
