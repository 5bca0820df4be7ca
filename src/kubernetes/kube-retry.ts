import * as k8s from '@kubernetes/client-node';
import { noticeRetry, retryScopeSignal } from '../runner/retry-notices.js';

/** How a Kubernetes API call is retried (see `retryingApi`). */
export interface KubeRetryPolicy {
  /** First backoff; doubled each retry, with full jitter. */
  baseMs: number;
  /** Longest backoff of our own (a Retry-After the apiserver sends is honoured up to `maxRetryAfterMs`). */
  capMs: number;
  maxRetryAfterMs: number;
  /** No retry starts later than this after the call was first made. */
  budgetMs: number;
}

/** Half a minute per call: apiserver throttling (429) and restarts (5xx, refused connections) are ridden out. */
export const KUBE_RETRY_POLICY: KubeRetryPolicy = { baseMs: 250, capMs: 5000, maxRetryAfterMs: 30_000, budgetMs: 30_000 };

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
// node-fetch's FetchError (client-node's transport) carries the socket's error code.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/**
 * Whether a failed call is worth making again, by the kind of failure, never by its message: the apiserver asked
 * to slow down (429 TooManyRequests), failed or is restarting (500/502/503/504), or could not be reached (a
 * connection refused, reset or timed out). Then also how long it asked to wait (Retry-After, seconds).
 */
export function kubeRetryAdvice(err: unknown): { retry: false } | { retry: true; failure: string; retryAfterMs?: number } {
  if (err instanceof k8s.ApiException) {
    if (!RETRYABLE_STATUS.has(err.code)) return { retry: false };
    const header = Object.entries(err.headers ?? {}).find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
    const seconds = header !== undefined ? Number(header) : Number.NaN;
    return { retry: true, failure: `HTTP ${err.code}`, ...(Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {}) };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return { retry: true, failure: code };
  return { retry: false };
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Makes `call` and, while it fails in a way `kubeRetryAdvice` says is transient, makes it again after a backoff
 * (`baseMs`·2ⁿ with full jitter, capped, or as long as Retry-After asks) until `budgetMs` is spent or the running
 * step's signal aborts; then the last failure is thrown as it came. Retries are told to the step (`noticeRetry`).
 */
export async function withKubeRetry<T>(service: string, what: string, call: () => Promise<T>, policy: KubeRetryPolicy = KUBE_RETRY_POLICY, random: () => number = Math.random): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await call();
      if (attempt > 1) noticeRetry({ type: 'recovered', service, attempts: attempt - 1 });
      return result;
    } catch (err) {
      const advice = kubeRetryAdvice(err);
      const signal = retryScopeSignal();
      if (!advice.retry || signal?.aborted) throw err;
      const backoff = Math.round(random() * Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
      const delay = Math.max(backoff, Math.min(advice.retryAfterMs ?? 0, policy.maxRetryAfterMs));
      if (Date.now() + delay - started > policy.budgetMs) throw err;
      noticeRetry({ type: 'retrying', service, attempt, error: `${advice.failure} on ${what}`, waitMs: delay });
      await wait(delay, signal);
      if (signal?.aborted) throw err;
    }
  }
}

/**
 * A client-node API client (`CoreV1Api`, `AppsV1Api`, …) whose every call goes through `withKubeRetry` — the one
 * place Kubernetes calls are retried, so no adapter method can forget it. `service` names the API server for
 * people ("the Kubernetes API at https://…").
 */
export function retryingApi<T extends object>(api: T, service: string, policy: KubeRetryPolicy = KUBE_RETRY_POLICY): T {
  return new Proxy(api, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => withKubeRetry(service, String(property), () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args), policy);
    },
  });
}
