import type { Verb } from './resources.js';

/**
 * One API request as the simulator received it, in the terms an RBAC authorizer is asked about: verb, API
 * group, resource, subresource ('' for the main resource), namespace and object name (absent for
 * cluster-scoped resources and for list/watch/create). Recorded before authorization and failure injection,
 * so refused and failed requests are in the log too.
 */
export interface RecordedRequest {
  verb: Verb;
  /** '' for the core group. */
  group: string;
  /** Plural resource name, e.g. `deployments`. */
  resource: string;
  /** `scale`, `status`, or '' for the main resource. */
  subresource: string;
  namespace?: string;
  name?: string;
}

/** The simulator's record of resource requests: the most recent `limit` of them, oldest first. */
export interface RequestLog {
  record(request: RecordedRequest): void;
  /** A copy of the entries, oldest first. */
  entries(): RecordedRequest[];
  clear(): void;
}

/**
 * A bounded request log: a sandbox left running for days keeps only the newest `limit` entries
 * (0 records nothing). Discovery, OpenAPI and health paths are never recorded: they are not resource requests.
 */
export function createRequestLog(limit: number): RequestLog {
  let entries: RecordedRequest[] = [];
  return {
    record(request) {
      if (limit <= 0) return;
      entries.push({ ...request });
      // Drop a tenth at a time rather than one per request: amortised O(1).
      if (entries.length > limit) entries = entries.slice(Math.min(entries.length - 1, entries.length - limit + Math.ceil(limit / 10)));
    },
    entries: () => entries.map((e) => ({ ...e })),
    clear() {
      entries = [];
    },
  };
}
