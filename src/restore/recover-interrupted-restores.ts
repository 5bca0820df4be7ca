import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { isProcessRunning } from '../runtime/is-process-running.js';
import type { RunReport } from '../backup/recover-interrupted.js';
import { createRunEvents, type RunEvents } from '../runner/run-event.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import { runLeftBehind } from '../state/run-lease.js';
import type { RunRecord, RunStore } from '../state/run-store.js';
import type { RestoreDeps } from './restore-deps.js';
import { runRestore, type RestoreResult, type RestoreRunRecord } from './run-restore.js';

/**
 * Finds restore runs left in flight by a process that died and ends them safely, as `recoverInterruptedRuns`
 * does for backups: takes the target's lock, runs the compensations of what they did — staging databases
 * dropped, the target resumed with its recorded replicas — and marks them failed. Call it wherever backups are
 * recovered (CLI and worker start): a restore never leaves a cluster paused either.
 */
export async function recoverInterruptedRestores(options: {
  config: Config;
  runs: RunStore;
  locks: ClusterLocks;
  log: Logger;
  events: RunEvents;
  /**
   * Where a run ended here is reported (its Slack message, thread and users' announcement), given the run, its
   * record, the events its ending emits and its dependencies; undefined: not reported. Without it the ending goes
   * to `events` only.
   */
  observe?: (run: RunRecord, record: RestoreRunRecord, events: RunEvents, deps: RestoreDeps) => Promise<RunReport<RestoreResult> | undefined>;
  depsFor: (run: RunRecord, record: RestoreRunRecord) => RestoreDeps & { close?(): void };
  only?: (run: RunRecord) => boolean | Promise<boolean>;
}): Promise<RestoreResult[]> {
  const { runs, locks, log } = options;
  const recovered: RestoreResult[] = [];
  // In flight by the state database (not Redis, which may have lost its data).
  const active = await runs.listRuns({ kind: 'restore', phases: ['validating', 'running'], limit: 100 });
  for (const run of active) {
    const record = run.result as RestoreRunRecord | null;
    if (!options.config.clusters[run.cluster] || !record?.plan || (options.only && !(await options.only(run)))) continue;
    if (!(await runLeftBehind(runs, run, isProcessRunning))) continue; // a live process holds it
    const free = await locks.clearIfHolderDead(run.cluster, isProcessRunning);
    if (!free) continue;
    let lock;
    try {
      lock = await locks.acquire(run.cluster, { runId: run.id, kind: 'recovery', requestedBy: 'pachbackup (recovery)' });
    } catch {
      continue;
    }
    log.warn({ runId: run.id, cluster: run.cluster }, 'found an interrupted restore; dropping its staging databases, resuming the cluster and ending the run');
    const deps = options.depsFor(run, record);
    deps.session.lock = lock;
    // Past the swap nothing undoes the restore: say that the live databases are the backup's now, not "undone".
    const swapped = (await runs.getSteps(run.id)).some((s) => s.name === 'swap-databases' && s.state === 'done');
    const abortReason = swapped
      ? `interrupted after the restored databases were put in place: cluster ${run.cluster} now runs on the databases of backup ${record.plan.backup.id}; pachbackup resumed the cluster — render its Helm values with \`pachbackup values ${record.plan.backup.id} --restore ${run.id}\``
      : 'interrupted: the process running this restore stopped; pachbackup undid what it had started and resumed the cluster';
    const events = options.observe ? createRunEvents((err) => log.warn({ err }, 'a run event listener failed')) : options.events;
    const report = await options.observe?.(run, record, events, deps).catch((err: unknown) => {
      log.warn({ err, runId: run.id }, 'could not follow the interrupted restore where it is reported; ending it without');
      return undefined;
    });
    try {
      const result = await runRestore({ deps, plan: record.plan, events, log, mode: 'abort', abortReason });
      await report?.finish(result);
      recovered.push(result);
    } finally {
      report?.stop();
      deps.close?.();
    }
  }
  return recovered;
}
