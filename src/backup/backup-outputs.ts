import type { WorkloadReplicas, WorkloadSnapshot } from '../kubernetes/pachyderm-workloads.js';
import type { ManifestDatabase } from '../catalog/manifest.js';

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
  };
  helm: { key: string; sha256: string; bytes: number; release: string; revision: number; chartVersion?: string; appVersion?: string } | null;
  preCopy: CopyCounts;
  ingress: { cronJobs: { name: string; suspended: boolean }[]; deployments: { name: string; replicas: number }[] };
  pause: { recorded: WorkloadReplicas; pausedAt: string };
  dumps: ManifestDatabase[];
  delta: CopyCounts;
  inventory: { key: string; sha256: string; bytes: number; objects: number; objectBytes: number };
  resume: { resumedAt: string };
  ingressRestored: true;
  manifest: { key: string };
  verification: { ok: boolean };
}
