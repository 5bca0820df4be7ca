import type { Logger } from '../log.js';

/**
 * What a long-running process tells the work it runs when it is asked to stop (SIGTERM from Kubernetes on every
 * rollout, drain and eviction; SIGINT from a person): `signal` aborts at once, and the process is gone by
 * `deadline` whatever is still running, so everything that wants to end cleanly plans with `remainingMs()`.
 */
export interface Shutdown {
  /** Aborted when the process starts stopping; its reason is what asked for it (the signal's name, e.g. SIGTERM). */
  readonly signal: AbortSignal;
  /** Epoch milliseconds by which the process exits; Infinity until it starts stopping. */
  deadline(): number;
  /** Milliseconds left until the deadline; Infinity until the process starts stopping. */
  remainingMs(): number;
}

/** A `Shutdown` and the switch that starts it (the composition root keeps the switch). */
export function createShutdown(): Shutdown & { begin(graceMs: number, reason: string): void } {
  const controller = new AbortController();
  let deadline = Number.POSITIVE_INFINITY;
  return {
    signal: controller.signal,
    deadline: () => deadline,
    remainingMs: () => deadline - Date.now(),
    begin(graceMs, reason) {
      if (controller.signal.aborted) return;
      deadline = Date.now() + graceMs;
      controller.abort(reason);
    },
  };
}

/** How long after a clean stop the process waits for its last handles to close before exiting anyway. */
const LINGER_MS = 1500;

/**
 * The end of `serve` and `worker`. On the first SIGTERM or SIGINT: starts `shutdown` (its deadline `graceMs`
 * away), runs `stop` — which stops taking work at once and ends what runs — and exits 0 when it resolves (1 when
 * it throws). A stop that is not done by the deadline is cut short: the process exits 1 then, in time for
 * Kubernetes' terminationGracePeriodSeconds, and what it ran comes back through recovery. A second signal only
 * says when the process will be gone. Resolves when the process is about to exit (tests pass their own `exit`).
 */
export function exitOnSignal(options: {
  log: Logger;
  shutdown: ReturnType<typeof createShutdown>;
  graceMs: number;
  stop: () => Promise<void>;
  /** Default: process.exit. */
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}): Promise<number> {
  const { log, shutdown, graceMs } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  return new Promise((resolve) => {
    let stopping = false;
    const finish = (code: number) => {
      for (const s of signals) process.off(s, onSignal);
      resolve(code);
      exit(code);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.info({ signal, exitsAt: new Date(shutdown.deadline()).toISOString() }, 'already shutting down');
        return;
      }
      stopping = true;
      const started = Date.now();
      shutdown.begin(graceMs, signal);
      log.info({ signal, graceSeconds: graceMs / 1000 }, 'shutting down: taking no new work');
      const hardStop = setTimeout(() => {
        log.error({ open: process.getActiveResourcesInfo() }, `not stopped within shutdownGraceSeconds (${graceMs / 1000} s); exiting now`);
        finish(1);
      }, graceMs);
      hardStop.unref();
      options.stop().then(
        () => {
          clearTimeout(hardStop);
          log.info({ ms: Date.now() - started }, 'stopped');
          process.exitCode = 0;
          // Everything is closed, so the event loop ends by itself; a handle left open must not hold the pod.
          const linger = setTimeout(() => {
            log.warn({ open: process.getActiveResourcesInfo() }, 'handles still open after a clean stop; exiting anyway');
            finish(0);
          }, LINGER_MS);
          linger.unref();
          process.once('beforeExit', () => {
            clearTimeout(linger);
            finish(0);
          });
        },
        (err: unknown) => {
          clearTimeout(hardStop);
          log.error({ err }, 'could not stop cleanly');
          finish(1);
        },
      );
    };
    for (const s of signals) process.on(s, onSignal);
  });
}
