import { whenAborted } from './abort-link.js';

/**
 * At most `max` functions running at once, the others waiting in arrival order: the streamed transfers of one
 * copier, or the copies one process has in flight for a cluster, whichever of its key ranges they belong to.
 */
export interface ConcurrencyLimit {
  readonly max: number;
  /** Functions running now. */
  readonly active: number;
  /**
   * Runs `fn` once fewer than `max` run. When `signal` aborts while it still waits, `fn` never runs and the
   * call rejects with the signal's reason; once started, `fn` is responsible for stopping.
   */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** Creates a ConcurrencyLimit of `max` (at least 1). */
export function createConcurrencyLimit(max: number): ConcurrencyLimit {
  const limit = Math.max(1, Math.floor(max));
  let active = 0;
  const waiting: { start: () => void }[] = [];

  const release = () => {
    const next = waiting.shift();
    if (next) next.start();
    else active -= 1;
  };

  const slot = (signal: AbortSignal | undefined): Promise<void> => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (active < limit) {
      active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      // The slot passes from the function that ends straight to this one: `active` stays as it is.
      const entry = {
        start: () => {
          stopWatching();
          resolve();
        },
      };
      waiting.push(entry);
      const stopWatching = signal
        ? whenAborted(signal, () => {
            const at = waiting.indexOf(entry);
            if (at !== -1) waiting.splice(at, 1);
            reject(signal.reason);
          })
        : () => undefined;
    });
  };

  return {
    max: limit,
    get active() {
      return active;
    },
    async run(fn, signal) {
      await slot(signal);
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}
