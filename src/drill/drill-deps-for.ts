import { createCatalog } from '../catalog/catalog.js';
import type { ClusterConfig } from '../config/config.js';
import { createS3Client } from '../object-store/s3-client.js';
import type { StateConnections } from '../runtime/connect-state.js';
import type { DrillDeps } from './drill-steps.js';

/**
 * A drill's dependencies for one cluster, as the CLI and the worker build them — the backup store and the
 * cluster's PostgreSQL server, no Kubernetes (a drill never touches the cluster). `close()` releases the client.
 */
export function drillDepsFor(cluster: ClusterConfig, state: Pick<StateConnections, 'runs' | 'locks'>, run: { id: string; requestedBy: string; backupId?: string }): DrillDeps & { close(): void } {
  const backupS3 = createS3Client(cluster.backupStore);
  const threshold = Number(process.env.PACHBACKUP_MULTIPART_THRESHOLD);
  return {
    drillId: run.id,
    cluster,
    backup: { s3: backupS3, store: cluster.backupStore, cluster: cluster.name },
    catalog: createCatalog(backupS3, cluster.backupStore),
    runs: state.runs,
    locks: state.locks,
    requestedBy: run.requestedBy,
    ...(run.backupId ? { backupId: run.backupId } : {}),
    ...(threshold > 0 ? { multipartThreshold: threshold } : {}),
    close: () => backupS3.destroy(),
  };
}
