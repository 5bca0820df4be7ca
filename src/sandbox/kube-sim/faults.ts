import type { Verb } from './resources.js';

/** A request the simulator fails on purpose (every field left out matches anything). */
export interface FailureRule {
  verb?: Verb;
  /** Plural resource name, e.g. `deployments`. */
  resource?: string;
  /** `scale` or `status`; '' for the main resource only. */
  subresource?: string;
  namespace?: string;
  name?: string;
  /** HTTP status to answer with (default 500 InternalError). */
  code?: number;
  message?: string;
  /** How many matching requests to fail; unlimited when left out. */
  times?: number;
  /** Fail matching requests only until this time (epoch ms): a burst that ends by itself. */
  until?: number;
  /** With 429 (or 503): the `Retry-After` header and Status `details.retryAfterSeconds`, as the apiserver's throttling sends them. */
  retryAfterSeconds?: number;
}

/**
 * Failure injection, for tests of what the product does when the cluster misbehaves. Mutable at run time
 * through `KubeSimulator.faults`.
 */
export interface Faults {
  /** Names of Deployments, ReplicationControllers or StatefulSets whose pods start but never become Ready. */
  neverReady: string[];
  /** Requests answered with an error instead of being served. */
  failures: FailureRule[];
  /**
   * Names of workloads (or pods) whose pods carry a finalizer nobody removes: deleted, they stay Terminating
   * (deletionTimestamp set, never gone) until the name leaves this list — a pod stuck behind a finalizer.
   */
  stuckTerminating: string[];
  /** Every watch stream ends this many ms after it starts (a proxy's idle timeout, an apiserver restart); 0: never. */
  dropWatchesAfterMs: number;
  /** Every API request is answered this many ms late (a busy apiserver); 0: at once. */
  latencyMs: number;
}

/** The finalizer `stuckTerminating` puts on pods. */
export const STUCK_FINALIZER = 'kube-sim.sandbox/stuck-terminating';

/** Empty fault set: everything works. */
export function noFaults(): Faults {
  return { neverReady: [], failures: [], stuckTerminating: [], dropWatchesAfterMs: 0, latencyMs: 0 };
}

/**
 * The failure rule matching a request, if any; consumes one of its `times` (dropping the rule when used up).
 */
export function takeFailure(
  faults: Faults,
  request: { verb: string; resource: string; subresource?: string; namespace?: string; name?: string },
): FailureRule | undefined {
  const matches = (rule: string | undefined, value: string | undefined): boolean => rule === undefined || rule === (value ?? '');
  const now = Date.now();
  for (let i = faults.failures.length - 1; i >= 0; i--) if ((faults.failures[i]!.until ?? Infinity) <= now) faults.failures.splice(i, 1);
  const index = faults.failures.findIndex(
    (rule) =>
      matches(rule.verb, request.verb) &&
      matches(rule.resource, request.resource) &&
      matches(rule.subresource, request.subresource) &&
      matches(rule.namespace, request.namespace) &&
      matches(rule.name, request.name),
  );
  if (index < 0) return undefined;
  const rule = faults.failures[index];
  if (!rule) return undefined;
  if (rule.times !== undefined) {
    rule.times -= 1;
    if (rule.times <= 0) faults.failures.splice(index, 1);
  }
  return rule;
}
