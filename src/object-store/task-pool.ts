import { cancelledError, linkAbort } from './abort-link.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';
import { toStoreError } from './store-error.js';

/** A task the pool runs; it should stop promptly when `signal` aborts. */
export type PoolTask = (signal: AbortSignal) => Promise<void>;

/**
 * Runs tasks with bounded concurrency and a bounded backlog. `submit` resolves once the task is accepted — it
 * waits while `maxPending` tasks are queued or running, which is how a producer (a listing) is held back.
 * The first failure is kept, aborts every running task (through the signal each was given) and refuses new
 * ones; `drain` waits for everything to settle and throws that first failure.
 */
export interface TaskPool {
  submit(task: PoolTask): Promise<void>;
  /** Waits until every accepted task has settled; throws the first failure, if any. */
  drain(): Promise<void>;
  /** Stops: aborts running tasks, drops queued ones, and waits for the running ones to settle. Never throws. */
  stop(reason?: unknown): Promise<void>;
  /** Tasks running now. */
  readonly running: number;
  /** The first failure, once there is one. */
  readonly failure: { error: unknown } | undefined;
}

/**
 * Creates a TaskPool; `signal` aborting stops it as `stop()` would. With `shared`, a task also waits for a place
 * in that limit, which other pools share — the copies of every key range one process runs.
 */
export function createTaskPool(options: { concurrency: number; maxPending: number; signal?: AbortSignal; shared?: ConcurrencyLimit }): TaskPool {
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const maxPending = Math.max(concurrency, Math.floor(options.maxPending));
  const link = linkAbort(options.signal);
  const queue: PoolTask[] = [];
  let running = 0;
  let failure: { error: unknown } | undefined;
  let waiters: (() => void)[] = [];

  const wake = () => {
    const current = waiters;
    waiters = [];
    for (const w of current) w();
  };
  const changed = () => new Promise<void>((resolve) => waiters.push(resolve));

  const pump = () => {
    while (running < concurrency && queue.length > 0 && !link.signal.aborted) {
      const task = queue.shift()!;
      running += 1;
      void run(task);
    }
    if (link.signal.aborted) queue.length = 0;
  };

  const run = async (task: PoolTask) => {
    try {
      if (options.shared) await options.shared.run(() => task(link.signal), link.signal);
      else await task(link.signal);
    } catch (error) {
      if (!failure) {
        failure = { error };
        link.abort(error);
      }
    } finally {
      running -= 1;
      pump();
      wake();
    }
  };

  const onAbort = () => {
    queue.length = 0;
    wake();
  };
  link.signal.addEventListener('abort', onAbort, { once: true });

  return {
    async submit(task) {
      while (!link.signal.aborted && running + queue.length >= maxPending) await changed();
      if (failure) throw failure.error;
      if (link.signal.aborted) throw link.signal.reason;
      queue.push(task);
      pump();
    },
    async drain() {
      while (running + queue.length > 0) await changed();
      link.dispose();
      if (failure) throw failure.error;
    },
    async stop(reason) {
      link.abort(reason);
      while (running > 0) await changed();
      link.dispose();
    },
    get running() {
      return running;
    },
    get failure() {
      return failure;
    },
  };
}

/**
 * Runs `produce` — typically a walk of listings that submits a task per object — with a pool of `concurrency`
 * tasks (each also holding a place in `shared`, when given): both see one signal that follows `signal` and is
 * aborted at the first failure; every task is waited for.
 * Whatever fails (the walk or a task) is thrown as the store error of `what`, or as cancelled when `signal`
 * aborted; nothing is left running.
 */
export async function withTaskPool(
  options: { concurrency: number; signal?: AbortSignal; what: string; shared?: ConcurrencyLimit },
  produce: (tasks: TaskPool, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const run = linkAbort(options.signal);
  const tasks = createTaskPool({ concurrency: options.concurrency, maxPending: options.concurrency * 4, signal: run.signal, ...(options.shared ? { shared: options.shared } : {}) });
  try {
    await produce(tasks, run.signal);
    await tasks.drain();
  } catch (err) {
    run.abort(err);
    await tasks.stop(err);
    if (options.signal?.aborted) throw cancelledError(options.what, options.signal.reason);
    throw toStoreError(tasks.failure?.error ?? err, options.what);
  } finally {
    run.dispose();
  }
}
