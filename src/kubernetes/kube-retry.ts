import * as k8s from '@kubernetes/client-node';
import { retryTransient, type BackoffPolicy, type RetryAdvice } from '../runner/retry-notices.js';

/** How a Kubernetes API call is retried (see `retryingApi`). */
export type KubeRetryPolicy = BackoffPolicy;

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
export function kubeRetryAdvice(err: unknown): RetryAdvice {
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

/**
 * Makes `call` and, while it fails in a way `kubeRetryAdvice` says is transient, makes it again after a backoff
 * (`retryTransient`) until `budgetMs` is spent or the running step's signal aborts; then the last failure is
 * thrown as it came. Retries are told to the step.
 */
export function withKubeRetry<T>(service: string, what: string, call: () => Promise<T>, policy: KubeRetryPolicy = KUBE_RETRY_POLICY, random: () => number = Math.random): Promise<T> {
  return retryTransient(call, {
    service,
    policy,
    random,
    advise: (err) => {
      const advice = kubeRetryAdvice(err);
      return advice.retry ? { ...advice, failure: `${advice.failure} on ${what}` } : advice;
    },
  });
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
