import type { ClusterConfig, Config } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import { isFinal } from '../runner/run-phase.js';
import type { RunRecord, RunStore } from '../state/run-store.js';

/**
 * Where a job for run `runId` on `cluster` starts: the run as recorded (absent for a drill or restore not started
 * yet; not 'queued' for one a dead worker had started), or `done` when it already finished — a job seen again is
 * never run twice. Throws when this worker's config does not have the cluster.
 */
export async function openJobRun(
  deps: { config: Config; runs: RunStore },
  data: { runId: string; cluster: string },
  log: Logger,
): Promise<{ done: { id: string; status: string } } | { done?: undefined; cluster: ClusterConfig; existing: RunRecord | undefined }> {
  const existing = await deps.runs.getRun(data.runId);
  if (existing && isFinal(existing.phase)) {
    log.info({ phase: existing.phase }, `${existing.kind} already finished; not running it again`);
    return { done: { id: data.runId, status: existing.phase } };
  }
  const cluster = deps.config.clusters[data.cluster];
  if (!cluster) throw new PachbackupError('config-invalid', `cluster ${data.cluster} is not in this worker's config`);
  return { cluster, existing };
}
