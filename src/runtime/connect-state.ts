import { Redis } from 'ioredis';
import pg from 'pg';
import type { Config } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { createAuditLog } from '../state/audit-log.js';
import { createClusterLocks } from '../state/cluster-lock.js';
import { migrate } from '../state/migrations.js';
import { createRunStore } from '../state/run-store.js';

/**
 * The shared state every process needs: the state database (migrated), Redis, and what is built on them.
 * Built once by a composition root and closed when it exits.
 */
export async function connectState(config: Config, options: { lockTtlMs?: number } = {}) {
  const pool = new pg.Pool({ connectionString: config.stateDatabaseUrl, max: 10, application_name: 'pachbackup', ...(config.stateDatabasePassword !== undefined ? { password: config.stateDatabasePassword } : {}) });
  pool.on('error', () => undefined); // an idle client's error surfaces on the next query instead of crashing the process
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new PachbackupError('unavailable', `cannot use the state database (stateDatabase.url): ${(err as Error).message}`, { retryable: true, cause: err });
  }
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: null, lazyConnect: true, enableOfflineQueue: true, ...(config.redis.password !== undefined ? { password: config.redis.password } : {}) });
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
