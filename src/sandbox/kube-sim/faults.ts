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
}

/** Empty fault set: everything works. */
export function noFaults(): Faults {
  return { neverReady: [], failures: [] };
}

/**
 * The failure rule matching a request, if any; consumes one of its `times` (dropping the rule when used up).
 */
export function takeFailure(
  faults: Faults,
  request: { verb: string; resource: string; subresource?: string; namespace?: string; name?: string },
): FailureRule | undefined {
  const matches = (rule: string | undefined, value: string | undefined): boolean => rule === undefined || rule === (value ?? '');
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
