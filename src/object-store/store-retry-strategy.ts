import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { noticeRetry } from '../runner/retry-notices.js';

/** The SDK's retry strategy interface (v2), as `S3ClientConfig.retryStrategy` takes it. */
type RetryStrategyV2 = Extract<NonNullable<S3ClientConfig['retryStrategy']>, { acquireInitialRetryToken: unknown }>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<RetryStrategyV2['refreshRetryTokenForRetry']>[1];

/** How an object-store request is retried (see `createStoreRetryStrategy`). */
export interface StoreRetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** First backoff; doubled each retry, with full jitter. */
  baseMs: number;
  /** Longest single backoff (a Retry-After the store sends may be longer). */
  capMs: number;
  /** No retry of a store that answers (throttling, 5xx) starts later than this after the request was first sent. */
  budgetMs: number;
  /** The same for a store that does not answer at all (refused, reset, timed out): shorter, a typo'd endpoint is not an outage. */
  unreachableBudgetMs: number;
}

/**
 * A minute of throttling or 5xx per request, 15 s of no answer: a store restarting, or throttling a burst of copies,
 * is ridden out; a wrong endpoint fails within seconds.
 */
export const STORE_RETRY_POLICY: StoreRetryPolicy = { maxAttempts: 12, baseMs: 200, capMs: 5000, budgetMs: 60_000, unreachableBudgetMs: 15_000 };

interface StoreRetryToken extends RetryToken {
  started: number;
}

function describeFailure(error: RetryErrorInfo['error']): string {
  const e = (error ?? {}) as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return [status ? `HTTP ${status}` : e.code, e.name && e.name !== 'Error' ? e.name : undefined].filter(Boolean).join(' ') || e.message || 'no answer';
}

/**
 * How pachbackup's S3 clients retry, chosen on purpose rather than left to the SDK's defaults. The SDK classifies
 * each failure — throttling (429, 503 SlowDown), transient (connection refused or reset, timeouts), server errors
 * (5xx) — and asks this strategy whether and when to send the request again; client errors (403, 404, …) are never
 * retried. Each request gets up to `maxAttempts` within `budgetMs` (`unreachableBudgetMs` while nothing answers), waiting `baseMs`·2ⁿ with full jitter (capped at
 * `capMs`) or as long as the store's Retry-After asks. Unlike the SDK's standard strategy there is no retry quota
 * shared by the client: a copy of thousands of objects meeting a minute of SlowDown must not exhaust it and fail
 * every request at once. Retries are told to the running step (see `noticeRetry`) as `service`.
 */
export function createStoreRetryStrategy(service: string, policy: StoreRetryPolicy = STORE_RETRY_POLICY, random: () => number = Math.random): RetryStrategyV2 {
  const token = (count: number, delay: number, started: number): StoreRetryToken => ({ getRetryCount: () => count, getRetryDelay: () => delay, started });
  return {
    acquireInitialRetryToken: async () => token(0, 0, Date.now()),
    refreshRetryTokenForRetry: async (previous, info) => {
      const last = previous as StoreRetryToken;
      const count = last.getRetryCount() + 1;
      if (info.errorType === 'CLIENT_ERROR' || count >= policy.maxAttempts) throw new Error('no retry');
      const backoff = Math.round(random() * Math.min(policy.capMs, policy.baseMs * 2 ** (count - 1)));
      const asked = info.retryAfterHint ? info.retryAfterHint.getTime() - Date.now() : 0;
      const delay = Math.max(backoff, asked);
      const answered = (info.error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode !== undefined;
      const budget = answered ? policy.budgetMs : policy.unreachableBudgetMs;
      if (Date.now() + delay - last.started > budget) throw new Error('retry budget spent');
      noticeRetry({ type: 'retrying', service, attempt: count, error: describeFailure(info.error), waitMs: delay });
      return token(count, delay, last.started);
    },
    recordSuccess: (done) => {
      if (done.getRetryCount() > 0) noticeRetry({ type: 'recovered', service, attempts: done.getRetryCount() });
    },
  };
}
