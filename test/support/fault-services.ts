import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, stopProcess } from '../../src/sandbox/processes.js';
import { startS3FaultProxy, type S3FaultProxy } from '../../src/sandbox/s3-fault-proxy.js';
import { startRedis } from '../../src/sandbox/services/redis.js';
import { startS3 } from '../../src/sandbox/services/s3.js';

/**
 * A Redis and an S3 server of a fault test's own — the suite's shared ones must not be stopped under other tests —
 * with the sandbox's fault controls: both are stopped and started again by PID (Redis comes back empty, as a
 * Redis without persistence does), and the object store is reached through the S3 fault proxy (503 SlowDown,
 * latency). Pass `redisUrl` and `s3Endpoint` to the fixtures.
 */
export async function startFaultServices() {
  const dir = mkdtempSync(join(tmpdir(), 'pachbackup-faults-'));
  const [redisPort, s3Port] = await Promise.all([freePort(), freePort()]);
  let redis = await startRedis({ directory: dir, logFile: join(dir, 'redis.log'), port: redisPort });
  let s3 = await startS3({ directory: join(dir, 's3'), buckets: [], logFile: join(dir, 's3.log'), port: s3Port });
  const proxy: S3FaultProxy = await startS3FaultProxy({ upstream: s3.endpoint });
  let s3Running = true;
  return {
    redisUrl: redis.url,
    /** The object store as clients see it: through the fault proxy. */
    s3Endpoint: proxy.endpoint,
    proxy,
    /** Stops Redis and starts it again on the same port, empty: every key (queues, locks) is gone. */
    async restartRedisEmpty(downMs = 0): Promise<void> {
      await stopProcess(redis.pid);
      if (downMs > 0) await sleep(downMs);
      redis = await startRedis({ directory: dir, logFile: join(dir, 'redis.log'), port: redisPort });
    },
    /** Stops the S3 server (its data stays on disk): the store is unreachable until `startS3`. */
    async stopS3(): Promise<void> {
      await stopProcess(s3.pid);
      s3Running = false;
    },
    async startS3(): Promise<void> {
      s3 = await startS3({ directory: join(dir, 's3'), buckets: [], logFile: join(dir, 's3.log'), port: s3Port });
      s3Running = true;
    },
    async close(): Promise<void> {
      await proxy.close();
      await Promise.all([stopProcess(redis.pid), s3Running ? stopProcess(s3.pid) : Promise.resolve()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type FaultServices = Awaited<ReturnType<typeof startFaultServices>>;
