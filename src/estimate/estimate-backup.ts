import type pg from 'pg';
import type { DowntimeEstimate } from './downtime-estimate.js';
import { estimateDowntimeWithDetail, type DetailedEstimate } from './estimate-downtime.js';
import { loadDowntimeHistory } from './history.js';
import { probeUpcomingBackup, type ProbeDeps, type ProbeOptions, type UpcomingBackup } from './probe.js';
import { DOWNTIME_STEPS, type DowntimeSizes } from './step-features.js';

/** What an estimate needs: the state database (history) and the cluster's adapters (the probe). */
export interface EstimateBackupDeps extends ProbeDeps {
  pool: pg.Pool;
}

export interface EstimateBackupOptions extends ProbeOptions {
  /** Past backups fitted on, newest first (default 50). */
  historyLimit?: number;
}

/** A coming backup's downtime estimate and what it was made from. */
export interface BackupEstimate {
  estimate: DowntimeEstimate;
  /**
   * What the probe measured, with every size filled in: a size the probe could not measure is the newest past
   * run's (or 0 when there is none) — each such case is in `warnings`.
   */
  upcoming: UpcomingBackup & { sizes: DowntimeSizes };
  /** How each step and the range were estimated (for `estimate --json`). */
  detail: Omit<DetailedEstimate, 'estimate'>;
}

const FEATURES = [...new Set(DOWNTIME_STEPS.map((s) => s.feature))];

/**
 * Estimates the downtime of a backup of `deps.cluster` started now: loads the cluster's downtime history and
 * probes the coming run at the same time, then fits (estimate-downtime.ts). What the Slack app shows in
 * confirmations and announcements and `pachbackup estimate` prints. Reads only: nothing is paused, dumped or
 * copied. Fails only when the state database cannot be read; a probe part that fails leaves a warning.
 */
export async function estimateBackup(deps: EstimateBackupDeps, options: EstimateBackupOptions = {}): Promise<BackupEstimate> {
  const [history, probed] = await Promise.all([
    loadDowntimeHistory(deps.pool, deps.cluster.name, options.historyLimit !== undefined ? { limit: options.historyLimit } : {}),
    probeUpcomingBackup(deps, options),
  ]);
  const sizes = { ...probed.sizes } as DowntimeSizes;
  const warnings = [...probed.warnings];
  for (const feature of FEATURES) {
    if (probed.sizes[feature] !== undefined) continue;
    const last = history.runs.find((r) => r.sizes[feature] !== undefined);
    sizes[feature] = last?.sizes[feature] ?? 0;
    warnings.push(last ? `${feature}: not measured, taken from the last backup (${last.runId})` : `${feature}: not measured and no past backup to take it from; counted as 0`);
  }
  const { estimate, ...detail } = estimateDowntimeWithDetail({ history, upcoming: sizes, fallback: probed.throughput });
  return { estimate, upcoming: { ...probed, sizes, warnings }, detail };
}

/** How a run's real downtime compared with its estimate. */
export interface EstimateError {
  /** Actual − expected, seconds: positive when the outage ran longer than announced. */
  errorSeconds: number;
  /** `errorSeconds` / expected (Infinity-free: 0 expected gives null). */
  relativeError: number | null;
  /** Whether the actual downtime fell within the announced range (inclusive). */
  withinRange: boolean;
}

/** Scores an estimate against the downtime that followed, for the run's record and `history`. */
export function estimateError(estimate: Pick<DowntimeEstimate, 'expectedSeconds' | 'lowSeconds' | 'highSeconds'>, actualSeconds: number): EstimateError {
  const errorSeconds = actualSeconds - estimate.expectedSeconds;
  return {
    errorSeconds,
    relativeError: estimate.expectedSeconds > 0 ? errorSeconds / estimate.expectedSeconds : null,
    withinRange: actualSeconds >= estimate.lowSeconds && actualSeconds <= estimate.highSeconds,
  };
}
