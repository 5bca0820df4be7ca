import type { ReadinessCheck } from './health-server.js';

/**
 * The readiness checks of pachbackup's processes, over the smallest interfaces that do the job: a process is
 * ready when it can read and write its state (the state database and Redis). Neither Slack nor a cluster is
 * checked — a Slack outage must not take the bot's pods out of service, and clusters have their own status.
 */

/** `SELECT 1` on the state database's pool. */
export function stateDatabaseCheck(pool: { query(sql: string): Promise<unknown> }, name = 'state-db'): ReadinessCheck {
  return { name, check: () => pool.query('SELECT 1') };
}

/** `PING` on a Redis connection (the queues and the cluster locks). */
export function redisCheck(redis: { ping(): Promise<string> }, name = 'redis'): ReadinessCheck {
  return {
    name,
    check: async () => {
      const answer = await redis.ping();
      if (answer !== 'PONG') throw new Error(`PING answered ${answer}`);
    },
  };
}
