import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';

/** How far a request's timestamp may be from now, either way (Slack's and Bolt's five minutes). */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;

/** Why a request was refused; every refusal is answered 401, as Bolt answers a bad signature. */
export type ReplayVerdict = { ok: true } | { ok: false; reason: 'unsigned' | 'bad-signature' | 'stale' | 'future' | 'replayed' };

/**
 * Accepts each signed Slack request once. Bolt's own check (signature, and a timestamp not older than five
 * minutes) lets the same signed bytes through again and again for five minutes, and takes any timestamp from the
 * future; this guard, run before it on the HTTP path, also refuses a timestamp more than five minutes ahead and
 * a signature already seen. Seen signatures are kept in Redis (`SET NX EX`) until their timestamp leaves the
 * window, so every `serve` replica behind a load balancer refuses a copy that another one accepted. A signature
 * is recorded only once it is verified, so forged requests cannot fill Redis. Socket Mode needs none of this:
 * its envelopes arrive over a WebSocket the app opened itself.
 */
export function createReplayGuard(options: { redis: Redis; prefix: string; signingSecret: string; now?: () => number }) {
  const now = options.now ?? Date.now;
  return async function check(headers: IncomingMessage['headers'], rawBody: Buffer): Promise<ReplayVerdict> {
    const signature = single(headers['x-slack-signature']);
    const timestamp = Number(single(headers['x-slack-request-timestamp']));
    if (!signature || !Number.isInteger(timestamp)) return { ok: false, reason: 'unsigned' };
    const expected = `v0=${createHmac('sha256', options.signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;
    if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) return { ok: false, reason: 'bad-signature' };
    const nowSeconds = Math.floor(now() / 1000);
    if (timestamp < nowSeconds - SIGNATURE_WINDOW_SECONDS) return { ok: false, reason: 'stale' };
    if (timestamp > nowSeconds + SIGNATURE_WINDOW_SECONDS) return { ok: false, reason: 'future' };
    // Kept until the timestamp leaves the window (plus a little for clocks of replicas that differ).
    const ttl = timestamp + SIGNATURE_WINDOW_SECONDS - nowSeconds + 60;
    const fresh = await options.redis.set(`${options.prefix}:slack-request:${signature.slice(3)}`, String(timestamp), 'EX', ttl, 'NX');
    return fresh === 'OK' ? { ok: true } : { ok: false, reason: 'replayed' };
  };
}

export type ReplayGuard = ReturnType<typeof createReplayGuard>;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
