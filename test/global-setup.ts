/**
 * Starts the real services every test suite shares — PostgreSQL (with TLS), Redis and s3rver — once per run,
 * with the sandbox's own starters. Suites isolate themselves by name: a random database, bucket or queue each.
 * Works from any folder, as root or not: as root PostgreSQL's data directory is a folder of its own owned by the
 * postgres user (see startPostgres), removed at the end with the rest.
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
  // Every process is known from the moment it exists, so a failed setup stops what did start.
  const pids: number[] = [];
  const dataDirs: string[] = [];
  const stopEverything = async () => {
    await Promise.all(pids.map((pid) => stopProcess(pid, { signal: 'SIGINT' })));
    for (const d of [...dataDirs, dir]) rmSync(d, { recursive: true, force: true });
  };
  const started = await Promise.allSettled([
    startPostgres({ dataDir: join(dir, 'postgres') }).then((p) => (pids.push(p.pid), dataDirs.push(p.dataDir), p)),
    startRedis({ directory: dir, logFile: join(dir, 'redis.log'), onSpawn: (pid) => pids.push(pid) }),
    startS3({ directory: join(dir, 's3'), buckets: [], logFile: join(dir, 's3.log'), onSpawn: (pid) => pids.push(pid) }),
  ] as const);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stopEverything();
    throw failed.reason;
  }
  const [postgres, redis, s3] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
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
  return stopEverything;
}
