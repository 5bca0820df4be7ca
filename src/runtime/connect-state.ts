import { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { RetryingPool } from '../postgres/postgres-retry.js';
import { createAuditLog } from '../state/audit-log.js';
import { createClusterLocks } from '../state/cluster-lock.js';
import { migrate } from '../state/migrations.js';
import { createRunStore } from '../state/run-store.js';

/**
 * The shared state every process needs: the state database (migrated), Redis, and what is built on them.
 * Built once by a composition root and closed when it exits.
 */
export async function connectState(config: Config, options: { lockTtlMs?: number } = {}) {
  // Queries that could not connect (the server restarting) are tried again for a while; see postgres-retry.ts.
  const pool = new RetryingPool({ service: 'the state database', connectionString: config.stateDatabaseUrl, max: 10, application_name: 'pachbackup', ...(config.stateDatabasePassword !== undefined ? { password: config.stateDatabasePassword } : {}) });
  pool.on('error', () => undefined); // an idle client's error surfaces on the next query instead of crashing the process
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new PachbackupError('unavailable', `cannot use the state database (stateDatabase.url): ${(err as Error).message}`, { retryable: true, cause: err });
  }
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: null, lazyConnect: true, enableOfflineQueue: true, ...(config.redis.password !== undefined ? { password: config.redis.password } : {}) });
  // A lost connection is reconnected by ioredis, and surfaces on the commands that fail meanwhile; unheard, each
  // failed reconnect would be printed as an "unhandled error event".
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (err) {
    await pool.end().catch(() => undefined);
    redis.disconnect();
    throw new PachbackupError('unavailable', `cannot reach Redis (redis.url): ${(err as Error).message}`, { retryable: true, cause: err });
  }
  const ttlFromEnv = Number(process.env.PACHBACKUP_LOCK_TTL_MS);
  return {
    pool,
    redis,
    runs: createRunStore(pool),
    audit: createAuditLog(pool),
    locks: createClusterLocks(redis, { prefix: config.redis.prefix, ttlMs: options.lockTtlMs ?? (ttlFromEnv > 0 ? ttlFromEnv : 60_000) }),
    async close() {
      await Promise.allSettled([pool.end(), redis.quit()]);
    },
  };
}

export type StateConnections = Awaited<ReturnType<typeof connectState>>;
