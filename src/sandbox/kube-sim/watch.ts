import type { ServerResponse } from 'node:http';
import { ApiError } from './api-error.js';
import type { KubeObject } from './kube-object.js';
import type { ResourceType } from './resources.js';
import { matchesFields, matchesLabels, type FieldRequirement, type LabelSelectorRequirements } from './selectors.js';
import type { ObjectStore, StoreEvent, WatchEventType } from './store.js';
import { toTable, type IncludeObject } from './table.js';

/** What a watch request asked for, parsed from its URL and headers. */
export interface WatchRequest {
  resource: ResourceType;
  /** Only objects in this namespace; undefined for all. */
  namespace: string | undefined;
  labels: LabelSelectorRequirements;
  fields: FieldRequirement[];
  /** `?resourceVersion=`: '' or '0' starts with the current objects as ADDED; N resumes after N. */
  resourceVersion: string;
  /** `?sendInitialEvents=true` (watch-list): current objects, then a BOOKMARK marking the end of them. */
  sendInitialEvents: boolean;
  /** `?timeoutSeconds=`; the stream ends after it (default 30 minutes). */
  timeoutSeconds: number | undefined;
  /** When set, events carry one-row Tables (kubectl get -w) instead of objects. */
  table: IncludeObject | undefined;
}

/**
 * Serves one watch: a chunked `application/json` stream of newline-delimited
 * `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":...}` events, as kubectl and client-node's
 * `Watch` read it. Objects that start or stop matching the selectors while they change are reported as
 * ADDED or DELETED, as the apiserver's watch cache does. Returns a function that ends the stream.
 */
export function serveWatch(store: ObjectStore, request: WatchRequest, res: ServerResponse): () => void {
  const matches = (obj: KubeObject | undefined): boolean =>
    obj !== undefined &&
    (request.namespace === undefined || obj.metadata.namespace === request.namespace) &&
    matchesLabels(request.labels, obj.metadata.labels) &&
    matchesFields(request.fields, obj);

  let sentHeaders = false;
  let ended = false;
  const write = (type: WatchEventType | 'BOOKMARK' | 'ERROR', object: unknown): void => {
    if (ended) return;
    let payload = object;
    if (request.table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      payload = toTable(request.resource, [object as KubeObject], { include: request.table, headers: !sentHeaders });
      sentHeaders = true;
    }
    res.write(`${JSON.stringify({ type, object: payload })}\n`);
  };
  const deliver = (event: StoreEvent): void => {
    if (event.resource !== request.resource) return;
    const now = matches(event.object);
    const before = matches(event.previous);
    if (event.type === 'ADDED') {
      if (now) write('ADDED', event.object);
    } else if (event.type === 'DELETED') {
      if (before || now) write('DELETED', event.object);
    } else if (now && before) {
      write('MODIFIED', event.object);
    } else if (now) {
      write('ADDED', event.object);
    } else if (before) {
      write('DELETED', event.object);
    }
  };

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  const rv = request.resourceVersion;
  if (rv === '' || rv === '0' || request.sendInitialEvents) {
    for (const obj of store.list(request.resource, request.namespace)) if (matches(obj)) write('ADDED', obj);
    if (request.sendInitialEvents) {
      write('BOOKMARK', {
        kind: request.resource.kind,
        apiVersion: request.resource.group ? `${request.resource.group}/${request.resource.version}` : request.resource.version,
        metadata: { resourceVersion: String(store.resourceVersion), annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    }
  } else {
    const since = Number(rv);
    const events = Number.isInteger(since) ? store.eventsSince(since) : undefined;
    if (!Number.isInteger(since)) {
      write('ERROR', new ApiError(400, 'BadRequest', `invalid resource version: ${rv}`).toStatus());
      res.end();
      return () => undefined;
    }
    if (!events) {
      write('ERROR', new ApiError(410, 'Expired', `too old resource version: ${rv} (${store.resourceVersion})`).toStatus());
      res.end();
      return () => undefined;
    }
    for (const event of events) deliver(event);
  }

  const unsubscribe = store.subscribe(deliver);
  const end = (): void => {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(end, (request.timeoutSeconds ?? 1800) * 1000);
  timer.unref();
  res.on('close', end);
  return end;
}
