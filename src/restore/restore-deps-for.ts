import { parseBackupId } from '../catalog/backup-layout.js';
import type { ClusterConfig, Config, ObjectStoreConfig } from '../config/config.js';
import type { FanOut } from '../fan-out/fan-out.js';
import { clusterAdapters } from '../runtime/cluster-adapters.js';
import type { StateConnections } from '../runtime/connect-state.js';
import { createS3ClientCache } from '../runtime/s3-client-cache.js';
import type { BackupLocation } from './read-backup.js';
import { sourceClusterOf } from './restore-approval.js';
import type { RestoreDeps } from './restore-deps.js';

/**
 * Where backup `backupId` is: in the backup store of the cluster its id names when that cluster is configured
 * (a backup of prod restored into staging), otherwise in the target cluster's own backup store (the cluster that
 * made it is gone or not configured here).
 */
export function backupStoreFor(config: Config, backupId: string, target: ClusterConfig): { store: ObjectStoreConfig; cluster: string; storeOf: string } {
  const source = sourceClusterOf(config, backupId, target);
  return { store: source.backupStore, cluster: parseBackupId(backupId)?.cluster ?? target.name, storeOf: source.name };
}

/**
 * A restore's dependencies, as the CLI and the worker build them: the target cluster's adapters, the backup's
 * location, a client cache for target buckets, the other configured clusters (guards), and the shared state.
 * `close()` releases the clients.
 */
export function restoreDepsFor(
  config: Config,
  target: ClusterConfig,
  state: Pick<StateConnections, 'locks' | 'runs'>,
  run: { id: string; backupId: string; requestedBy: string; approvedBy?: string; note?: string },
  options: { fanOut?: FanOut } = {},
): RestoreDeps & { close(): void } {
  const adapters = clusterAdapters(target);
  const clients = createS3ClientCache();
  const where = backupStoreFor(config, run.backupId, target);
  const backup: BackupLocation = { s3: clients.clientFor(where.store), store: where.store, cluster: where.cluster, storeOf: where.storeOf };
  const threshold = Number(process.env.PACHBACKUP_MULTIPART_THRESHOLD);
  return {
    restoreId: run.id,
    requestedBy: run.requestedBy,
    ...(run.approvedBy ? { approvedBy: run.approvedBy } : {}),
    ...(run.note ? { note: run.note } : {}),
    backup,
    target,
    workloads: adapters.workloads,
    objectStoreClient: (store) => clients.clientFor(store),
    knownClusters: Object.values(config.clusters),
    locks: state.locks,
    runs: state.runs,
    session: {},
    ...(options.fanOut ? { fanOut: options.fanOut } : {}),
    ...(threshold > 0 ? { multipartThreshold: threshold } : {}),
    close() {
      clients.close();
      adapters.close();
    },
  };
}
