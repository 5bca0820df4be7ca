import * as k8s from '@kubernetes/client-node';
import { PachbackupError } from '../errors.js';

/** An object as a watch carries it: at least its name and resourceVersion. */
export interface WatchedObject {
  metadata?: { name?: string; resourceVersion?: string };
}

/** What `watchUntil` needs. */
export interface WatchUntilOptions<T extends WatchedObject> {
  kc: k8s.KubeConfig;
  /** The collection's API path, e.g. `/api/v1/namespaces/pachyderm/pods`. */
  path: string;
  /** Selectors, sent with both the list and the watch (`labelSelector`, `fieldSelector`). */
  query?: { labelSelector?: string; fieldSelector?: string };
  /** Lists the collection with the same selectors: its items and the list's resourceVersion. */
  list: () => Promise<{ items: T[]; resourceVersion?: string }>;
  /** The condition waited for, on the current objects by name. */
  satisfied: (objects: ReadonlyMap<string, T>) => boolean;
  /** What the error says is still missing when the time is up. */
  describeWaiting: (objects: ReadonlyMap<string, T>) => string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with the current objects after the list and after every event. */
  onChange?: (objects: ReadonlyMap<string, T>) => void;
  /** How long the server may keep one watch open before ending it (default 300 s); the wait then watches again. */
  watchTimeoutSeconds?: number;
}

/** Pause before listing again when a watch ended at once (a refused watch must not become a busy loop). */
const RETRY_DELAY_MS = 250;

/**
 * Waits until `satisfied` holds for a collection, as Kubernetes' own informers do: one list (its objects and
 * resourceVersion), then a watch from that resourceVersion applying ADDED / MODIFIED / DELETED to the objects,
 * checking the condition at every event — so the wait ends as soon as the API server reports the change, with
 * no polling interval added. When the watch ends for any reason (the server's watch timeout, a dropped
 * connection, an ERROR event such as 410 Gone for an expired resourceVersion, a refused watch), it lists again
 * and watches again from the new list, so no change is missed. Returns the objects that satisfied it.
 *
 * Errors: PachbackupError 'timeout' after `timeoutMs` (the message ends with `describeWaiting`), 'cancelled'
 * when `signal` aborts; a failing list is thrown as it came (the caller's API error).
 */
export async function watchUntil<T extends WatchedObject>(options: WatchUntilOptions<T>): Promise<ReadonlyMap<string, T>> {
  const deadline = Date.now() + options.timeoutMs;
  const watcher = new k8s.Watch(options.kc);
  let objects = new Map<string, T>();
  const nameOf = (obj: T) => obj.metadata?.name ?? '';
  for (;;) {
    if (options.signal?.aborted) throw new PachbackupError('cancelled', `cancelled while waiting for ${options.describeWaiting(objects)}`);
    if (Date.now() >= deadline) throw timeout(options, objects);
    const listed = await options.list();
    objects = new Map(listed.items.map((o) => [nameOf(o), o]));
    options.onChange?.(objects);
    if (options.satisfied(objects)) return objects;

    const started = Date.now();
    const outcome = await new Promise<'satisfied' | 'ended' | 'timeout' | 'cancelled'>((resolve) => {
      let controller: AbortController | undefined;
      let settled = false;
      const finish = (how: 'satisfied' | 'ended' | 'timeout' | 'cancelled') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        controller?.abort();
        resolve(how);
      };
      const onAbort = () => finish('cancelled');
      const timer = setTimeout(() => finish('timeout'), Math.max(0, deadline - Date.now()));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const query = {
        ...options.query,
        ...(listed.resourceVersion ? { resourceVersion: listed.resourceVersion } : {}),
        allowWatchBookmarks: true,
        timeoutSeconds: options.watchTimeoutSeconds ?? 300,
      };
      void watcher
        .watch(
          options.path,
          query,
          (type: string, obj: T) => {
            if (settled) return;
            if (type === 'ERROR') return finish('ended'); // 410 Gone and friends: list again
            if (type === 'ADDED' || type === 'MODIFIED') objects.set(nameOf(obj), obj);
            else if (type === 'DELETED') objects.delete(nameOf(obj));
            else return; // BOOKMARK: nothing changed
            options.onChange?.(objects);
            if (options.satisfied(objects)) finish('satisfied');
          },
          () => finish('ended'),
        )
        .then(
          (c) => {
            controller = c;
            if (settled) c.abort();
          },
          () => finish('ended'),
        );
    });
    if (outcome === 'satisfied') return objects;
    if (outcome === 'timeout') throw timeout(options, objects);
    if (outcome === 'cancelled') throw new PachbackupError('cancelled', `cancelled while waiting for ${options.describeWaiting(objects)}`);
    if (Date.now() - started < RETRY_DELAY_MS) await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
  }
}

function timeout<T extends WatchedObject>(options: WatchUntilOptions<T>, objects: ReadonlyMap<string, T>): PachbackupError {
  return new PachbackupError('timeout', `gave up after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.describeWaiting(objects)}`);
}
