import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A backup waiting for its requester's Confirm click. */
export interface PendingBackup {
  userId: string;
  channelId: string;
  cluster: string;
  note?: string;
  estimate: unknown;
  createdAt: string;
  expiresAt: string;
}

export type TakeResult = { ok: true; pending: PendingBackup } | { ok: false; reason: 'unknown' | 'used' | 'not-yours'; pending?: PendingBackup };

const USED = 'used';

/**
 * Confirmations live in Redis (so any app replica can take the click), under an unguessable id that is the
 * button's value. Taking one is atomic and single-use: a forged or tampered value is unknown, a second click is
 * "used", and an expired one is gone — each answered with its own message.
 */
export function createPendingConfirmations(redis: Redis, options: { prefix: string; ttlSeconds?: number }) {
  const ttl = options.ttlSeconds ?? 600;
  const key = (id: string) => `${options.prefix}:confirm:${id}`;
  return {
    ttlSeconds: ttl,
    async create(pending: Omit<PendingBackup, 'createdAt' | 'expiresAt'>): Promise<{ id: string; expiresAt: string }> {
      const id = randomBytes(16).toString('hex');
      const now = Date.now();
      const record: PendingBackup = { ...pending, createdAt: new Date(now).toISOString(), expiresAt: new Date(now + ttl * 1000).toISOString() };
      await redis.set(key(id), JSON.stringify(record), 'EX', ttl);
      return { id, expiresAt: record.expiresAt };
    },
    /** Takes the confirmation for `userId`, once. */
    async take(id: string, userId: string): Promise<TakeResult> {
      if (!/^[0-9a-f]{32}$/.test(id)) return { ok: false, reason: 'unknown' };
      const raw = await redis.get(key(id));
      if (raw === null) return { ok: false, reason: 'unknown' };
      if (raw === USED) return { ok: false, reason: 'used' };
      const pending = JSON.parse(raw) as PendingBackup;
      if (pending.userId !== userId) return { ok: false, reason: 'not-yours', pending };
      // Atomic: of two clicks racing, exactly one reads the record back.
      const taken = await redis.set(key(id), USED, 'KEEPTTL', 'GET');
      if (taken === null || taken === USED) return { ok: false, reason: 'used' };
      return { ok: true, pending: JSON.parse(taken) as PendingBackup };
    },
    async dismiss(id: string, userId: string): Promise<TakeResult> {
      return this.take(id, userId);
    },
  };
}

export type PendingConfirmations = ReturnType<typeof createPendingConfirmations>;
