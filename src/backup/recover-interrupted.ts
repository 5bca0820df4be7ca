import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { isProcessRunning } from '../runtime/is-process-running.js';
import { createRunEvents, type RunEvents } from '../runner/run-event.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import { runLeftBehind } from '../state/run-lease.js';
import type { RunRecord, RunStore } from '../state/run-store.js';
import type { BackupDeps } from './backup-deps.js';
import { runBackup, type BackupResult } from './run-backup.js';

/**
 * Finds backup runs left in flight by a process that died — in flight by the state database, and held by no live
 * process (their lease ran out, or its holder on this host is gone) — and ends them safely: takes the lock, runs the compensations of what they did — resuming the cluster
 * with the recorded replicas — and marks them failed. Every CLI and worker start calls it: pachbackup never leaves
 * a cluster paused.
 */
export async function recoverInterruptedRuns(options: {
  config: Config;
  runs: RunStore;
  locks: ClusterLocks;
  log: Logger;
  events: RunEvents;
  /**
   * Where a run ended here is reported (its Slack thread and users' announcement), given the run, the events its
   * ending emits and its dependencies; undefined: not reported. Without it the ending goes to `events` only.
   */
  observe?: (run: RunRecord, events: RunEvents, deps: BackupDeps) => Promise<RunReport | undefined>;
  /** Builds the dependencies of a backup for a cluster (a composition root's job). */
  depsFor: (run: RunRecord) => BackupDeps;
  /** Runs still held by a live owner are left alone; this filters which runs this caller may take over. */
  only?: (run: RunRecord) => boolean | Promise<boolean>;
}): Promise<BackupResult[]> {
  const { runs, locks, log } = options;
  const recovered: BackupResult[] = [];
  // In flight by the state database (not Redis, which may have lost its data).
  const active = await runs.listRuns({ kind: 'backup', phases: ['validating', 'running'], limit: 100 });
  for (const run of active) {
    if (!options.config.clusters[run.cluster] || (options.only && !(await options.only(run)))) continue;
    if (!(await runLeftBehind(runs, run, isProcessRunning))) continue; // a live process holds it
    const free = await locks.clearIfHolderDead(run.cluster, isProcessRunning);
    if (!free) continue; // a live process holds the cluster: the run is not orphaned (or another run is busy)
    let lock;
    try {
      lock = await locks.acquire(run.cluster, { runId: run.id, kind: 'recovery', requestedBy: 'pachbackup (recovery)' });
    } catch {
      continue; // someone else got there first
    }
    log.warn({ runId: run.id, cluster: run.cluster }, 'found an interrupted backup; resuming the cluster and ending the run');
    const deps = options.depsFor(run);
    deps.session.lock = lock;
    const events = options.observe ? createRunEvents((err) => log.warn({ err }, 'a run event listener failed')) : options.events;
    const report = await options.observe?.(run, events, deps).catch((err: unknown) => {
      log.warn({ err, runId: run.id }, 'could not follow the interrupted backup where it is reported; ending it without');
      return undefined;
    });
    try {
      const result = await runBackup({
        deps,
        events,
        log,
        mode: 'abort',
        abortReason: 'interrupted: the process running this backup stopped; pachbackup resumed the cluster with its recorded replicas',
      });
      await report?.finish(result);
      recovered.push(result);
    } finally {
      report?.stop();
    }
  }
  return recovered;
}

/** Where an ended run is reported: told the result (resolves once it is said), then stopped. */
export interface RunReport<R = BackupResult> {
  finish(result: R): Promise<void>;
  stop(): void;
}
