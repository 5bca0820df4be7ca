import type { BackupResult } from '../backup/run-backup.js';
import type { RestoreResult } from '../restore/run-restore.js';
import type { RunOutcome } from './run-reporter.js';
import { buildRestoreSummary } from './views/restore-summary.js';
import { buildRunSummary } from './views/run-summary.js';
import type { DowntimeEstimate, RunView } from './views/view-models.js';

/** Seconds the run's steps named `names` took, as the checklist recorded them. */
function secondsOf(run: RunView, names: string[]): number {
  return run.steps.filter((s) => names.includes(s.name)).reduce((n, s) => n + (s.durationMs ?? 0), 0) / 1000;
}

/** How a backup ended, for its run reporter: the final summary with sizes, throughput and the estimate. */
export function backupOutcome(result: BackupResult): RunOutcome {
  return {
    phase: result.status,
    ...(result.error ? { error: result.error } : {}),
    summary: (run) =>
      buildRunSummary({
        id: result.id,
        cluster: result.cluster,
        phase: result.status,
        ...(result.error ? { error: result.error } : {}),
        warnings: result.warnings,
        downtimeSeconds: result.downtimeSeconds,
        ...(run.estimate ? { estimate: run.estimate } : {}),
        objects: result.objects,
        bytes: result.bytes,
        copySeconds: secondsOf(run, ['pre-copy', 'delta-copy']),
        databases: result.databases.map((d) => ({ name: d.name, bytes: d.bytes })),
        ...(result.verified !== undefined ? { verified: result.verified } : {}),
      }),
  };
}

/** How a restore ended, for its run reporter: databases, objects, downtime against the estimate, the helm command. */
export function restoreOutcome(result: RestoreResult, estimate?: DowntimeEstimate): RunOutcome {
  return {
    phase: result.status,
    ...(result.error ? { error: result.error } : {}),
    summary: () =>
      buildRestoreSummary({
        ...result,
        phase: result.status,
        ...(estimate ? { estimate } : {}),
        ...(result.helm ? { helm: { valuesUrl: result.helm.valuesUrl, command: result.helm.command } } : {}),
      }),
  };
}
