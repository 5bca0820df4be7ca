/** Default interval between progress reports. */
export const PROGRESS_INTERVAL_MS = 250;

/**
 * Calls `report` with a fresh snapshot at most once per interval (the first call reports at once), and
 * always on `flush` — so callers can say "something changed" on every event without flooding the listener.
 */
export interface ProgressThrottle {
  changed(): void;
  flush(): void;
}

/** Creates a ProgressThrottle over `snapshot` and `report` (a missing `report` makes both calls no-ops). */
export function createProgressThrottle<P>(snapshot: () => P, report: ((progress: P) => void) | undefined, intervalMs = PROGRESS_INTERVAL_MS): ProgressThrottle {
  let last = Number.NEGATIVE_INFINITY;
  return {
    changed() {
      if (!report) return;
      const now = performance.now();
      if (now - last < intervalMs) return;
      last = now;
      report(snapshot());
    },
    flush() {
      if (!report) return;
      last = performance.now();
      report(snapshot());
    },
  };
}
