import pg from 'pg';
import { retryTransient } from '../runner/retry-notices.js';

// Failures that can only happen before a statement reaches the server: the connection was refused, not resolved
// or timed out, or the server said it cannot take a session now (starting up: 57P03; too many connections:
// 53300). Trying again can never run a statement twice.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);
const CANNOT_CONNECT_NOW = new Set(['57P03', '53300']);

/** The kind of failure a PostgreSQL call met, from its code (never its message): `not-connected` is always safe to retry. */
export function postgresFailureKind(err: unknown): 'not-connected' | 'other' {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (NOT_CONNECTED.has(code) || CANNOT_CONNECT_NOW.has(code)) ? 'not-connected' : 'other';
}

/** How long connecting is retried: a server restarting (a failover, a pod rescheduled) comes back within this. */
export const POSTGRES_CONNECT_BUDGET_MS = 20_000;

/**
 * Runs `connect` again, with exponential backoff and full jitter, while it fails before reaching the server
 * (`postgresFailureKind` = not-connected) and `budgetMs` lasts; the running step's signal ends the waits. What
 * fails once connected is thrown at once — a statement cut off mid-way may have run. Retries are told to the step.
 */
export function withConnectRetry<T>(service: string, connect: () => Promise<T>, budgetMs = POSTGRES_CONNECT_BUDGET_MS, random: () => number = Math.random): Promise<T> {
  return retryTransient(connect, {
    service,
    random,
    policy: { baseMs: 250, capMs: 5000, budgetMs },
    advise: (err) => (postgresFailureKind(err) === 'not-connected' ? { retry: true, failure: String((err as { code?: unknown }).code) } : { retry: false }),
  });
}

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * The state database's pool: a connection that cannot be made (the server restarting) is tried again within
 * `POSTGRES_CONNECT_BUDGET_MS`, for `pool.query` and `pool.connect` alike; a query that failed once connected is
 * not (it may have run).
 */
export class RetryingPool extends pg.Pool {
  readonly service: string;
  constructor(config: pg.PoolConfig & { service: string }) {
    const { service, ...rest } = config;
    super(rest);
    this.service = service;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const connected = withConnectRetry(this.service, () => super.connect());
    if (!callback) return connected;
    connected.then(
      (client) => callback(undefined, client, (release) => client.release(release as boolean | Error | undefined)),
      (err: Error) => callback(err, undefined, () => undefined),
    );
  }
}
