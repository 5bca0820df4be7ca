import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupDeps } from '../backup/backup-deps.js';
import type { ClusterConfig } from '../config/config.js';
import type { FanOut } from '../fan-out/fan-out.js';
import { clusterAdapters } from './cluster-adapters.js';
import type { StateConnections } from './connect-state.js';

/** A backup's dependencies for one cluster and run: the adapters of the cluster, the shared state, and the process's fan-out. */
export function backupDepsFor(
  cluster: ClusterConfig,
  state: Pick<StateConnections, 'locks' | 'runs'>,
  run: { id: string; requestedBy: string; note?: string },
  options: { fanOut?: FanOut } = {},
): BackupDeps & { close(): void } {
  const adapters = clusterAdapters(cluster);
  const threshold = Number(process.env.PACHBACKUP_MULTIPART_THRESHOLD);
  return {
    cluster,
    backupId: run.id,
    requestedBy: run.requestedBy,
    ...(run.note ? { note: run.note } : {}),
    workloads: adapters.workloads,
    clusterS3: adapters.clusterS3,
    backupS3: adapters.backupS3,
    catalog: adapters.catalog,
    locks: state.locks,
    runs: state.runs,
    session: {},
    // PACHBACKUP_WORK_DIR: where runs keep their listings (a volume with room for them, in a pod).
    workDir: join(process.env.PACHBACKUP_WORK_DIR || tmpdir(), 'pachbackup-runs', run.id),
    ...(options.fanOut ? { fanOut: options.fanOut } : {}),
    ...(threshold > 0 ? { multipartThreshold: threshold } : {}),
    close: adapters.close,
  };
}
