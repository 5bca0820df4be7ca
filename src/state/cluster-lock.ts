import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { PachbackupError } from '../errors.js';
import type { Interruption } from '../runner/interruption.js';
import { keepLeaseAlive } from './lease-keeper.js';

/** How a run stops when its cluster lock is gone (see `ClusterLock.keepAlive`): at once, as a failure. */
export const LOST_LOCK: Interruption = {
  reason: 'lost its cluster lock (Redis restarted without its data, or was unreachable for longer than the lock lasts)',
  phase: 'failed',
};

/** Who holds a cluster's lock: the run, and the process that runs it. */
export interface LockHolder {
  runId: string;
  kind: string;
  requestedBy: string;
  host: string;
  pid: number;
  since: string;
}

export interface ClusterLock {
  holder: LockHolder;
  /** Extends the lease; false when it was lost (expired and taken, or released). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
  /**
   * Renews every ttl/3 until released; calls `onLost` once if the lease is lost: the key is gone or another's
   * (Redis restarted empty), or no renewal succeeded for a whole TTL (Redis unreachable).
   */
  keepAlive(onLost: () => void): void;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** How long releasing waits for Redis before leaving the lease to expire. */
const RELEASE_WAIT_MS = 3000;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * One operation per cluster at a time: a Redis key with an owner and an expiry (a lease), renewed while the run
 * is alive. A process that dies stops renewing, so its lease expires and the cluster can be recovered; a holder on
 * this host whose PID is gone is recognised at once.
 */
export function createClusterLocks(redis: Redis, options: { prefix: string; ttlMs?: number }) {
  const ttlMs = options.ttlMs ?? 60_000;
  const keyOf = (cluster: string) => `${options.prefix}:lock:${cluster}`;

  return {
    ttlMs,

    /** Takes the lock or throws a `conflict` naming who holds it. */
    async acquire(cluster: string, who: Omit<LockHolder, 'host' | 'pid' | 'since'>): Promise<ClusterLock> {
      const holder: LockHolder = { ...who, host: hostname(), pid: process.pid, since: new Date().toISOString() };
      const value = JSON.stringify(holder);
      const ok = await redis.set(keyOf(cluster), value, 'PX', ttlMs, 'NX');
      if (ok !== 'OK') {
        const current = await this.holder(cluster);
        throw new PachbackupError(
          'conflict',
          current
            ? `cluster ${cluster} is busy: ${current.kind} ${current.runId} requested by ${current.requestedBy} has been running since ${current.since}`
            : `cluster ${cluster} is busy with another operation`,
          { hint: 'wait for it to finish, or cancel it', retryable: true },
        );
      }
      let stopRenewing: (() => void) | undefined;
      const lock: ClusterLock = {
        holder,
        renew: async () => (await redis.eval(RENEW, 1, keyOf(cluster), value, String(ttlMs))) === 1,
        release: async () => {
          stopRenewing?.();
          // With Redis unreachable the command would wait for it forever: the lease runs out by itself instead.
          let wait: NodeJS.Timeout | undefined;
          const gaveUp = new Promise<never>((_, reject) => {
            wait = setTimeout(
              () => reject(new PachbackupError('unavailable', `could not release the lock of cluster ${cluster} within ${RELEASE_WAIT_MS} ms; it expires by itself`, { retryable: true })),
              RELEASE_WAIT_MS,
            );
          });
          try {
            await Promise.race([redis.eval(RELEASE, 1, keyOf(cluster), value), gaveUp]);
          } finally {
            clearTimeout(wait);
          }
        },
        keepAlive: (onLost) => {
          stopRenewing = keepLeaseAlive(() => lock.renew(), ttlMs, onLost);
        },
      };
      return lock;
    },

    /**
     * Takes the lock for a run picked up again after its worker died (BullMQ's stalled-job recovery): the dead
     * worker's lease, held in the same run's name, runs out within the TTL, then this process takes over. A lock
     * held by another run means the cluster is busy: that `conflict` is thrown at once.
     */
    async takeOver(cluster: string, who: Omit<LockHolder, 'host' | 'pid' | 'since'>, signal?: AbortSignal): Promise<ClusterLock> {
      const deadline = Date.now() + ttlMs + 5_000;
      for (;;) {
        try {
          return await this.acquire(cluster, who);
        } catch (err) {
          const current = await this.holder(cluster);
          if (!(err instanceof PachbackupError) || err.code !== 'conflict' || (current && current.runId !== who.runId) || Date.now() > deadline || signal?.aborted) throw err;
          await sleep(1000);
        }
      }
    },

    async holder(cluster: string): Promise<LockHolder | undefined> {
      const raw = await redis.get(keyOf(cluster));
      return raw ? (JSON.parse(raw) as LockHolder) : undefined;
    },

    /**
     * Drops a lock whose holder is a dead process on this host (its lease would expire anyway). Returns true when
     * the lock is free afterwards.
     */
    async clearIfHolderDead(cluster: string, isRunning: (pid: number) => boolean): Promise<boolean> {
      const raw = await redis.get(keyOf(cluster));
      if (!raw) return true;
      const holder = JSON.parse(raw) as LockHolder;
      if (holder.host === hostname() && holder.pid !== process.pid && !isRunning(holder.pid)) {
        await redis.eval(RELEASE, 1, keyOf(cluster), raw);
        return true;
      }
      return false;
    },
  };
}

export type ClusterLocks = ReturnType<typeof createClusterLocks>;
