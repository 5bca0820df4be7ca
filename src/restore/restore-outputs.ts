import type { BackupOutputs } from '../backup/backup-outputs.js';
import type { InventoryCopyCounts } from './inventory-objects.js';
import type { RestorePlan } from './restore-plan.js';

/** One database restored: into `staging` first, then put in place as `target`. */
export interface RestoredDatabase {
  source: string;
  target: string;
  /** The database the dump was restored into before the swap (`<target>_restoring_<id>`). */
  staging: string;
  /** The target existed (and, if not empty, is replaced) when the restore started. */
  existed: boolean;
  bytes: number;
  tables: number;
  rows: number;
  /** Tables whose row count differs from the count recorded at backup time. */
  mismatches: string[];
}

/**
 * What each restore step hands to the ones after it, checkpointed with the step. `pause` and `resume` have the
 * backup's shapes: the restore pauses and resumes the target with the backup's own steps.
 */
export interface RestoreOutputs {
  startedAt: string;
  /** The plan as re-computed when the job started (its fingerprint equals the approved one). */
  plan: RestorePlan;
  verified: { verifiedAt: string; checks: number };
  restoredDatabases: RestoredDatabase[];
  objectCopy: InventoryCopyCounts;
  pause: BackupOutputs['pause'];
  objectDelta: InventoryCopyCounts;
  swap: { databases: { target: string; replaced: boolean }[] };
  helmValues: { key: string; sha256: string; command: string };
  resume: BackupOutputs['resume'];
}
