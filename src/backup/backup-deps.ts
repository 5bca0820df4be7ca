import type { S3Client } from '@aws-sdk/client-s3';
import type { Catalog } from '../catalog/catalog.js';
import type { ClusterConfig } from '../config/config.js';
import type { FanOut } from '../fan-out/fan-out.js';
import type { PachydermWorkloads } from '../kubernetes/pachyderm-workloads.js';
import type { HeldSnapshot } from '../postgres/database-snapshot.js';
import type { ClusterLock, ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';

/**
 * Everything the backup steps work with, built by a composition root: adapters for the cluster, its stores and
 * the state database, and the facts of this run.
 */
export interface BackupDeps {
  cluster: ClusterConfig;
  backupId: string;
  requestedBy: string;
  note?: string;
  workloads: PachydermWorkloads;
  clusterS3: S3Client;
  backupS3: S3Client;
  catalog: Catalog;
  locks: ClusterLocks;
  runs: RunStore;
  /**
   * This run's scratch directory on the worker's local disk (the listings of the bucket the copy passes keep,
   * about 50 bytes per object each, compressed); removed when the run ends.
   */
  workDir: string;
  /** Explicit PostgreSQL client tools; found automatically otherwise. */
  pgBinDir?: string;
  /** Objects above this size are copied in parts (the S3 single-copy limit is 5 GiB). */
  multipartThreshold?: number;
  /**
   * Where large copies are split into key ranges and run (child jobs on every worker, or here); without one every
   * copy runs unsplit in this process.
   */
  fanOut?: FanOut;
  /**
   * What lives only as long as this process runs the backup: the lock taken in preflight, held for the whole
   * run, and the database snapshots exported while paused, held open until the dumps have taken them. A worker
   * that dies loses both; a retried run takes the lock over, but cannot get the snapshots back.
   */
  session: { lock?: ClusterLock; snapshots?: HeldSnapshot[] };
}
