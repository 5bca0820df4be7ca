/**
 * Shares one read among everyone asking for the same thing at about the same time: while a read for a key is in
 * flight, callers of that key get the same promise, and its result is reused for `reuseMs` after it settles.
 * Fifty people typing `/pachbackup estimate prod` at once cost one probe of prod, not fifty — and the app stays
 * free to acknowledge their commands instead of parsing fifty copies of the same S3 listing.
 *
 * A failed read is shared only while in flight, never reused: the next caller tries again.
 */
export function coalesceReads<A, V>(
  read: (arg: A) => Promise<V>,
  options: {
    /** What makes two calls the same read (e.g. the cluster's name). */
    key: (arg: A) => string;
    /** How long a settled result is reused, in ms (0: only while in flight). */
    reuseMs: number;
    /** Clock, for tests; default `performance.now`. */
    now?: () => number;
  },
): (arg: A) => Promise<V> {
  const now = options.now ?? (() => performance.now());
  const entries = new Map<string, { promise: Promise<V>; settledAt?: number }>();
  return (arg) => {
    const key = options.key(arg);
    const entry = entries.get(key);
    if (entry && (entry.settledAt === undefined || now() - entry.settledAt < options.reuseMs)) return entry.promise;
    const promise = read(arg);
    const current = { promise } as { promise: Promise<V>; settledAt?: number };
    entries.set(key, current);
    promise.then(
      () => {
        current.settledAt = now();
        // Forget it once stale, so keys that are not asked again do not pile up.
        setTimeout(() => entries.get(key) === current && entries.delete(key), options.reuseMs).unref();
      },
      () => entries.get(key) === current && entries.delete(key),
    );
    return promise;
  };
}
