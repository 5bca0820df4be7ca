import type { WorkloadReplicas, WorkloadSnapshot } from '../kubernetes/pachyderm-workloads.js';
import type { DumpSource, ManifestDatabase } from '../catalog/manifest.js';
import type { SnapshotPath } from '../postgres/database-snapshot.js';
import type { SavedListing } from '../object-store/saved-listing.js';

/** Counts of one pass of copying the cluster bucket into the pool. */
export interface CopyCounts {
  listed: number;
  listedBytes: number;
  copied: number;
  copiedBytes: number;
  skipped: number;
  conflicts: number;
  durationMs: number;
}

/**
 * What each backup step hands to the ones after it. Checkpointed with the step, so a resumed run has the
 * outputs of the steps it skips.
 */
export interface BackupOutputs {
  startedAt: string;
  preflight: {
    snapshot: WorkloadSnapshot;
    serverVersion: string;
    pgDumpPath: string;
    pgDumpVersion: string;
    databaseBytes: Record<string, number>;
    /** Whether the dumps can be taken from snapshots exported while paused (checked on the configured path). */
    snapshotPath: SnapshotPath;
  };
  helm: { key: string; sha256: string; bytes: number; release: string; revision: number; chartVersion?: string; appVersion?: string } | null;
  /** The pre-copy, and the listing it saw (on the worker's disk). */
  preCopy: CopyCounts & { listing: SavedListing };
  /** The catch-up passes right before the pause (absent when the pre-copy was short). */
  catchUp: CopyCounts & { passes: number; listing: SavedListing };
  ingress: { cronJobs: { name: string; suspended: boolean }[]; deployments: { name: string; replicas: number }[] };
  pause: { recorded: WorkloadReplicas; pausedAt: string };
  /**
   * How the databases were frozen at the pause: snapshots exported (and held by this process for the dumps
   * after the resume), or — where that path cannot work — dumped right there while paused.
   */
  snapshot: { source: DumpSource; at: string; ids?: Record<string, string>; fallbackReason?: string };
  dumps: ManifestDatabase[];
  /** What the pause copied, and its listing of the bucket (on the worker's disk until the inventory is written). */
  delta: CopyCounts & { listing: SavedListing };
  inventory: { key: string; sha256: string; bytes: number; objects: number; objectBytes: number };
  resume: { resumedAt: string };
  ingressRestored: true;
  manifest: { key: string };
  verification: { ok: boolean };
}
