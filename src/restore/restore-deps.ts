import type { S3Client } from '@aws-sdk/client-s3';
import type { ClusterConfig, ObjectStoreConfig } from '../config/config.js';
import type { FanOut } from '../fan-out/fan-out.js';
import type { PachydermWorkloads } from '../kubernetes/pachyderm-workloads.js';
import type { ClusterLock, ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';
import type { BackupLocation } from './read-backup.js';

/**
 * What planning a restore reads: the backup store, the target cluster and its Kubernetes workloads, clients for
 * whatever bucket the restore writes to, and the other configured clusters (so a restore never lands on a
 * database or bucket another cluster runs on).
 */
export interface RestoreEnvironment {
  backup: BackupLocation;
  target: ClusterConfig;
  workloads: PachydermWorkloads;
  /** A client for a bucket the restore writes to; the caller owns its lifetime (see `restoreDepsFor`). */
  objectStoreClient(store: ObjectStoreConfig): S3Client;
  knownClusters?: ClusterConfig[];
}

/** Everything a restore job works with, built by a composition root (see `restoreDepsFor`). */
export interface RestoreDeps extends RestoreEnvironment {
  restoreId: string;
  requestedBy: string;
  /** Who approved the plan (Slack's second person), for the run record. */
  approvedBy?: string;
  note?: string;
  locks: ClusterLocks;
  runs: RunStore;
  /** Explicit PostgreSQL client tools; found automatically otherwise. */
  pgBinDir?: string;
  /** Objects above this size are copied in parts. */
  multipartThreshold?: number;
  /** Where large object copies are split into key ranges and run; without one every copy runs unsplit here. */
  fanOut?: FanOut;
  /** The lock on the target cluster, held for the whole run. */
  session: { lock?: ClusterLock };
}
