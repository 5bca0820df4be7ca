/**
 * Where a restore puts the databases on the target cluster's PostgreSQL server:
 * - `new`: new databases `<backup's name>_<suffix>`, suffix `restored_<yyyymmdd>` by default — the safe choice;
 * - `original`: the names the databases had when backed up (in place on the same cluster, or the same names on
 *   another cluster's server);
 * - `names`: explicit names, by the backup's database name.
 */
export type DatabaseTarget = { kind: 'new'; suffix?: string } | { kind: 'original' } | { kind: 'names'; names: Record<string, string> };

/**
 * Where a restore puts the objects:
 * - `cluster-bucket`: the target cluster's own bucket (its configured object store) — restoring in place;
 * - `bucket`: another bucket (optionally under a prefix, optionally on another S3 endpoint, which pachd must
 *   reach by the same address); created when missing, with the target cluster's object-store credentials;
 * - `backup-pool`: no copy — Pachyderm reads the backup store's pool where it is. The backup store then stops
 *   being a backup (the restored cluster writes into it and garbage-collects from it), and it needs a storage
 *   backend that can use a key prefix (see `prefixSupported`); the plan refuses it otherwise.
 */
export type ObjectTarget = { kind: 'cluster-bucket' } | { kind: 'bucket'; bucket: string; prefix?: string; endpoint?: string } | { kind: 'backup-pool' };

/** What someone asks to restore, and where. The plan resolves every default (see `ResolvedRestoreRequest`). */
export interface RestoreRequest {
  backupId: string;
  /** Default `{ kind: 'new' }`. */
  databases?: DatabaseTarget;
  /** Default `{ kind: 'cluster-bucket' }`. */
  objects?: ObjectTarget;
  /** Replace non-empty target databases and write into a non-empty bucket; refused without it. */
  overwrite?: boolean;
  /** The Kubernetes Secret with the PostgreSQL password for the rendered values; default the backup's. */
  credentialsSecret?: string;
  /** The chart version of the helm command; default the backup's. */
  chartVersion?: string;
  /** How pachd reaches the restored PostgreSQL server, when not by the host and port pachbackup uses. */
  helmPostgres?: { host: string; port: number };
  /**
   * Pause the target while restoring. Default: only when the restore writes to the databases or bucket the target
   * runs on (a side-by-side restore into new databases and a new bucket needs no outage). Refused as false then.
   */
  pause?: boolean;
}

/**
 * A request with every default resolved — database names fixed (the default date suffix would otherwise change at
 * midnight), the object target explicit, the pause decided. The plan carries it; the job re-plans from it, so an
 * approval given to a plan stays valid exactly as long as nothing the plan depends on changed.
 */
export interface ResolvedRestoreRequest {
  backupId: string;
  databases: { kind: 'names'; names: Record<string, string> };
  objects: { kind: 'bucket'; bucket: string; prefix: string; endpoint?: string } | { kind: 'backup-pool' };
  overwrite: boolean;
  credentialsSecret?: string;
  chartVersion?: string;
  helmPostgres?: { host: string; port: number };
  pause?: boolean;
}
