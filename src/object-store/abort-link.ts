import { setMaxListeners } from 'node:events';
import { PachbackupError } from '../errors.js';

/** An abort signal of our own that also follows a parent signal, until disposed. */
export interface AbortLink {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
  /** Detaches from the parent, so a long-lived parent does not collect one watcher per copy. */
  dispose(): void;
}

/**
 * A child AbortController: aborted when `parent` is, or by `abort()` (to stop sibling work after a failure
 * without touching the caller's signal). Chosen over `AbortSignal.any`, whose dependent signals Node 20 keeps
 * alive for as long as the parent lives.
 */
export function linkAbort(parent?: AbortSignal): AbortLink {
  const controller = new AbortController();
  // Every request in flight listens on it (the SDK removes its listener when the request closes), so the
  // listener count is bounded by concurrency — not a leak, whatever Node's default warning threshold says.
  setMaxListeners(0, controller.signal);
  const stopFollowing = parent ? whenAborted(parent, () => controller.abort(parent.reason)) : () => undefined;
  return {
    signal: controller.signal,
    abort: (reason?: unknown) => controller.abort(reason),
    dispose: stopFollowing,
  };
}

/** The error every object-store operation throws when its caller's signal was aborted. */
export function cancelledError(what: string, cause?: unknown): PachbackupError {
  return new PachbackupError('cancelled', `${what} was cancelled`, cause === undefined ? {} : { cause });
}

/** Throws PachbackupError 'cancelled' if `signal` has been aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelledError(what, signal.reason);
}

/**
 * Calls `callback` once when `signal` aborts — at once if it has — and returns what stops watching. However many
 * watch one signal, it carries a single listener: Node's EventTarget walks every listener of a signal on each
 * `addEventListener` (to refuse duplicates), so the copies of a pool, hundreds of them watching the pool's signal
 * one after another, would otherwise pay for each other on every copy.
 */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    callback();
    return () => undefined;
  }
  const watching = watchers.get(signal) ?? watch(signal);
  // A wrapper of its own, so one callback watching twice is stopped (and called) once per watch.
  const watcher = () => callback();
  watching.add(watcher);
  return () => void watching.delete(watcher);
}

/** The one listener of `signal`, calling every watcher then; returns the set they join. */
function watch(signal: AbortSignal): Set<() => void> {
  const watching = new Set<() => void>();
  watchers.set(signal, watching);
  signal.addEventListener(
    'abort',
    () => {
      watchers.delete(signal);
      for (const watcher of watching) {
        try {
          watcher();
        } catch (err) {
          // As for a listener of its own: the others still run, and the error is the process's to report.
          process.nextTick(() => {
            throw err;
          });
        }
      }
      watching.clear();
    },
    { once: true },
  );
  return watching;
}

/** The watchers of each signal that has any (see whenAborted); a signal no one holds any more is forgotten. */
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * `work`, or its caller's signal aborting first — whichever comes first; the work itself is not stopped (for a
 * request sent without a signal, see `oneBucketClient`). What it settles with later is dropped.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const stopWatching = whenAborted(signal, () => reject(signal.reason));
    work.then(
      (value) => {
        stopWatching();
        resolve(value);
      },
      (err: unknown) => {
        stopWatching();
        reject(err);
      },
    );
  });
}
