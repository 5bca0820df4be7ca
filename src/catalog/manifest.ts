/**
 * manifest.json — the record of one complete backup, written last. Listing, verifying and restoring need
 * nothing but the backup store, so everything a restore needs to know is here.
 */
export interface BackupManifest {
  formatVersion: 1;
  id: string;
  cluster: string;
  /** Always "complete": an incomplete backup has no manifest. */
  status: 'complete';
  requestedBy: string;
  note?: string;
  startedAt: string;
  completedAt: string;
  pachyderm: {
    namespace: string;
    helmRelease: string;
    helmRevision?: number;
    chartVersion?: string;
    appVersion?: string;
    pachdImage?: string;
    pauseStrategy: 'scale' | 'enterprise';
  };
  /** From the start of the pause to pachd ready again. */
  downtime: { pausedAt: string; resumedAt: string; seconds: number };
  /** Replicas recorded before the pause and restored after it. */
  replicas: { pachd: number; deployments: Record<string, number>; workers: Record<string, number> };
  steps: { name: string; startedAt: string | null; finishedAt: string | null; durationMs: number | null; bytes?: number; objects?: number; rows?: number }[];
  helmValues?: { key: string; sha256: string; bytes: number };
  databases: ManifestDatabase[];
  objects: {
    /** Where the pool is: `<prefix>/objects/`. */
    pool: string;
    inventory: { key: string; sha256: string; bytes: number };
    count: number;
    bytes: number;
    /** Copied by this backup (pre-copy + delta); the rest were already in the pool. */
    copied: number;
    copiedBytes: number;
    copiedWhilePaused: number;
  };
  tools: { pachbackup: string; node: string; pgDump?: string };
}

export interface ManifestDatabase {
  name: string;
  key: string;
  bytes: number;
  sha256: string;
  format: 'custom';
  pgDumpVersion: string;
  serverVersion: string;
  /** Row counts at the pause (in the same snapshot as the dump), for restore drills. */
  tables: { schema: string; table: string; rows: number }[];
  /** How the dump was made to show the moment of the pause; absent in manifests of older versions ('while-paused'). */
  source?: DumpSource;
  /** Why the dump was taken while paused instead of from an exported snapshot. */
  fallbackReason?: string;
}

/**
 * `exported-snapshot`: a snapshot exported while Pachyderm was paused, dumped after the resume with
 * `pg_dump --snapshot` (Pachyderm already running again); `while-paused`: dumped while Pachyderm was paused —
 * the fallback when snapshots cannot be exported and imported on the path to PostgreSQL.
 */
export type DumpSource = 'exported-snapshot' | 'while-paused';

/** verify.json — the outcome of the latest verification of a backup, beside its manifest. */
export interface VerificationRecord {
  backupId: string;
  verifiedAt: string;
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

/** pinned.json — a backup retention must keep, whatever the policy. */
export interface PinRecord {
  backupId: string;
  pinnedBy: string;
  pinnedAt: string;
  reason?: string;
}
