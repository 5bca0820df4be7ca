import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What a client that retries transient failures (the S3 SDK's retry strategy, the Kubernetes and PostgreSQL retry
 * wrappers) says about it: each retry it is about to make, and the success that ends a series of them. `service`
 * names what is retried for people ("the object store s3://bucket", "the Kubernetes API"); notices of one service
 * are one series, whichever request they are for.
 */
export type RetryNotice =
  | {
      type: 'retrying';
      service: string;
      attempt: number;
      error: string;
      waitMs: number;
      /** When the trouble began (epoch ms), when the first notice comes long after it (a wait that ran out). */
      failingSince?: number;
    }
  | { type: 'recovered'; service: string; attempts: number };

/** Who hears the notices of the work running in a scope (the runner, for the step it runs). */
export type RetryListener = (notice: RetryNotice) => void;

const scope = new AsyncLocalStorage<{ listener: RetryListener; signal: AbortSignal | undefined }>();

/**
 * Runs `fn` with `listener` hearing the retry notices of everything it does, however deep in the adapters — the
 * clients are built before a run and shared by its steps, so the step a retry belongs to is known only from
 * where the call came from (Node's async context, as tracing libraries carry a span). `signal` (the step's) ends
 * the waits between retries early.
 */
export function withRetryNotices<T>(listener: RetryListener, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return scope.run({ listener, signal }, fn);
}

/** Tells the listener of the current scope, if any, about a retry. Never throws. */
export function noticeRetry(notice: RetryNotice): void {
  try {
    scope.getStore()?.listener(notice);
  } catch {
    // a listener's failure must not change what the client does
  }
}

/** The signal of the work running in the current scope (the step's), if any: a retrying client stops waiting when it aborts. */
export function retryScopeSignal(): AbortSignal | undefined {
  return scope.getStore()?.signal;
}

/** How long a series of retries lasts before people are told (a blip that heals at once is not news). */
export const RETRY_NOTICE_AFTER_MS = 5000;

/**
 * Turns the retry notices of one step into what people see: nothing for a series that heals within
 * `RETRY_NOTICE_AFTER_MS`; one message once it has lasted that long, naming the service, the error and for how
 * long; and one when the service answers again. `report` gets each message (the runner makes it step progress).
 */
export function createRetryDigest(report: (message: string, retry: { service: string; since: string; attempts: number; error?: string; recovered: boolean }) => void, now: () => number = Date.now): RetryListener {
  const series = new Map<string, { since: number; attempts: number; told: boolean }>();
  return (notice) => {
    const current = series.get(notice.service);
    if (notice.type === 'recovered') {
      series.delete(notice.service);
      if (current?.told) {
        const seconds = Math.round((now() - current.since) / 1000);
        report(`${notice.service} answers again after ${seconds} s of retries`, { service: notice.service, since: new Date(current.since).toISOString(), attempts: Math.max(current.attempts, notice.attempts), recovered: true });
      }
      return;
    }
    const entry = current ?? { since: Math.min(now(), notice.failingSince ?? Infinity), attempts: 0, told: false };
    entry.attempts += 1;
    series.set(notice.service, entry);
    if (!entry.told && now() - entry.since >= RETRY_NOTICE_AFTER_MS) {
      entry.told = true;
      const seconds = Math.round((now() - entry.since) / 1000);
      report(`retrying ${notice.service} for ${seconds} s (${entry.attempts} retries so far): ${notice.error}`, { service: notice.service, since: new Date(entry.since).toISOString(), attempts: entry.attempts, error: notice.error, recovered: false });
    }
  };
}

/** How a client spaces its retries (see `retryTransient`). */
export interface BackoffPolicy {
  /** First backoff; doubled each retry, with full jitter. */
  baseMs: number;
  /** Longest backoff of our own. */
  capMs: number;
  /** No retry starts later than this after the first call. */
  budgetMs: number;
  /** A wait the service asks for (Retry-After) is honoured up to this. */
  maxRetryAfterMs?: number;
}

/** Whether a failure is worth another try, by its kind (never its message), and how long the service asked to wait. */
export type RetryAdvice = { retry: false } | { retry: true; failure: string; retryAfterMs?: number };

/**
 * Makes `call` and, while `advise` says its failure is transient, makes it again after a backoff (`baseMs`·2ⁿ with
 * full jitter, capped, or as long as the service asked) until the budget is spent or the running step's signal
 * aborts; then the last failure is thrown as it came. Each retry, and the success that ends them, is told to the
 * running step (`noticeRetry`) as `service`.
 */
export async function retryTransient<T>(call: () => Promise<T>, options: { service: string; advise: (err: unknown) => RetryAdvice; policy: BackoffPolicy; random?: () => number }): Promise<T> {
  const { service, advise, policy } = options;
  const random = options.random ?? Math.random;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await call();
      if (attempt > 1) noticeRetry({ type: 'recovered', service, attempts: attempt - 1 });
      return result;
    } catch (err) {
      const advice = advise(err);
      const signal = retryScopeSignal();
      if (!advice.retry || signal?.aborted) throw err;
      const backoff = Math.round(random() * Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
      const delay = Math.max(backoff, Math.min(advice.retryAfterMs ?? 0, policy.maxRetryAfterMs ?? 0));
      if (Date.now() + delay - started > policy.budgetMs) throw err;
      noticeRetry({ type: 'retrying', service, attempt, error: advice.failure, waitMs: delay });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
      if (signal?.aborted) throw err;
    }
  }
}
