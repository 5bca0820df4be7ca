import type { Catalog, CatalogEntry } from '../catalog/catalog.js';
import type { ClusterConfig } from '../config/config.js';
import type { PachydermWorkloads } from '../kubernetes/pachyderm-workloads.js';
import type { ClusterStatusView, DowntimeEstimate } from '../slack/views/view-models.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';
import { clusterStatus } from './cluster-status.js';
import { coalesceReads } from './coalesce-reads.js';

/** How long a cluster's status, estimate or backup list is reused by later askers (a few seconds: "now" enough). */
export const DEFAULT_REUSE_MS = 3000;

/** A cluster's complete backups (newest first) and its backup folders without a manifest. */
export interface BackupListing {
  backups: CatalogEntry[];
  incomplete: string[];
}

/**
 * The read-only questions people ask about a cluster — its status, how long a backup would pause it, its
 * backups — answered from the cluster itself (Kubernetes, PostgreSQL, the object and backup stores), each
 * coalesced per cluster: one read in flight, its answer reused for `reuseMs`. Slack's `status`, `estimate`,
 * `list`, App Home and the restore modal ask through these, and so can the CLI.
 */
export interface ClusterReads {
  status(cluster: ClusterConfig): Promise<ClusterStatusView>;
  estimate(cluster: ClusterConfig): Promise<DowntimeEstimate>;
  backups(cluster: ClusterConfig): Promise<BackupListing>;
}

/** Builds the coalesced reads over a cluster's clients and the state database. */
export function createClusterReads(deps: {
  adapters(cluster: ClusterConfig): { workloads: Pick<PachydermWorkloads, 'snapshot' | 'listWorkers'>; catalog: Pick<Catalog, 'list'> };
  locks: Pick<ClusterLocks, 'holder'>;
  runs: Pick<RunStore, 'listRuns' | 'getRun'>;
  /** The uncoalesced downtime estimate of a backup of the cluster now. */
  estimate(cluster: ClusterConfig): Promise<DowntimeEstimate>;
  reuseMs?: number;
}): ClusterReads {
  const options = { key: (cluster: ClusterConfig) => cluster.name, reuseMs: deps.reuseMs ?? DEFAULT_REUSE_MS };
  const backups = coalesceReads((cluster: ClusterConfig) => deps.adapters(cluster).catalog.list(cluster.name), options);
  return {
    status: coalesceReads((cluster) => {
      const catalog = { list: () => backups(cluster) };
      return clusterStatus({ cluster, workloads: deps.adapters(cluster).workloads, catalog, locks: deps.locks, runs: deps.runs });
    }, options),
    estimate: coalesceReads((cluster) => deps.estimate(cluster), options),
    backups,
  };
}
