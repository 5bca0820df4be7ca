import type { Catalog } from '../catalog/catalog.js';
import type { ClusterConfig } from '../config/config.js';
import { describeError, PachbackupError } from '../errors.js';
import type { PachydermWorkloads } from '../kubernetes/pachyderm-workloads.js';
import type { ClusterStatusView } from '../slack/views/view-models.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';

/**
 * A cluster as `status` and App Home show it: pachd and the workers (paused or not), the operation running on it
 * (from its lock), and the last good backup — from the state database, or the backup store's catalog when the
 * state database has none. A cluster that cannot be reached is reported as such, not as an error of the command;
 * one whose Kubernetes answers but lacks pachd's Deployment (or one in `pachyderm.quiesce`) is reachable, with what
 * is missing.
 */
export async function clusterStatus(options: {
  cluster: ClusterConfig;
  workloads: Pick<PachydermWorkloads, 'snapshot' | 'listWorkers'>;
  catalog: Pick<Catalog, 'list'>;
  locks: Pick<ClusterLocks, 'holder'>;
  runs: Pick<RunStore, 'listRuns' | 'getRun'>;
  now?: Date;
}): Promise<ClusterStatusView> {
  const { cluster } = options;
  const view: ClusterStatusView = {
    name: cluster.name,
    displayName: cluster.displayName,
    context: cluster.kubernetes.inCluster ? 'in-cluster' : (cluster.kubernetes.context ?? ''),
    namespace: cluster.kubernetes.namespace,
    reachable: true,
    paused: false,
    workers: [],
    now: (options.now ?? new Date()).toISOString(),
  };
  const [snapshot, workers, holder, lastRuns] = await Promise.all([
    options.workloads.snapshot().catch((err: unknown) => err as Error),
    options.workloads.listWorkers().catch(() => []),
    options.locks.holder(cluster.name).catch(() => undefined),
    options.runs.listRuns({ cluster: cluster.name, kind: 'backup', phases: ['succeeded', 'partially-failed'], limit: 1 }).catch(() => []),
  ]);
  if (snapshot instanceof PachbackupError && snapshot.code === 'not-found') {
    // Kubernetes answered: the cluster is there, a Deployment it needs is not (e.g. pachd uninstalled or renamed).
    view.missing = describeError(snapshot);
    view.workers = workers;
  } else if (snapshot instanceof Error) {
    view.reachable = false;
    view.error = describeError(snapshot);
  } else {
    view.pachd = { replicas: snapshot.pachd.replicas, ready: snapshot.pachdReady, ...(snapshot.pachdImage ? { image: snapshot.pachdImage } : {}) };
    view.paused = snapshot.pachd.replicas === 0 || snapshot.pachdMode === 'paused';
    view.workers = workers;
  }
  if (holder) {
    const run = await options.runs.getRun(holder.runId).catch(() => undefined);
    view.running = { runId: holder.runId, kind: holder.kind, requestedBy: holder.requestedBy, since: holder.since, ...(run ? { phase: run.phase } : {}) };
  }
  const last = lastRuns[0];
  if (last?.finishedAt) {
    view.lastGoodBackup = { id: last.id, completedAt: last.finishedAt.toISOString(), downtimeSeconds: last.downtimeSeconds ?? 0 };
  } else {
    const fromStore = await options.catalog.list(cluster.name).then((l) => l.backups[0], () => undefined);
    if (fromStore) view.lastGoodBackup = { id: fromStore.manifest.id, completedAt: fromStore.manifest.completedAt, downtimeSeconds: fromStore.manifest.downtime.seconds };
  }
  return view;
}
