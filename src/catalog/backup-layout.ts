import type { ObjectStoreConfig } from '../config/config.js';

/**
 * Where a backup's files live in the backup store (DESIGN.md, "Backup store layout"):
 * `<prefix>/backups/<cluster>/<backup-id>/` holds manifest.json (written last: its presence means complete),
 * helm-values.yaml, postgres/<database>.dump, inventory.ndjson.gz, verify.json and pinned.json (kept by
 * retention whatever the policy); the object pool is
 * `<prefix>/objects/`.
 */
export function storePath(store: ObjectStoreConfig, ...parts: string[]): string {
  return [store.prefix, ...parts].filter((p) => p !== '').join('/');
}

export function clusterBackupsPrefix(store: ObjectStoreConfig, cluster: string): string {
  return `${storePath(store, 'backups', cluster)}/`;
}

export function backupFolder(store: ObjectStoreConfig, cluster: string, id: string): string {
  return storePath(store, 'backups', cluster, id);
}

export const backupFiles = {
  manifest: (store: ObjectStoreConfig, cluster: string, id: string) => `${backupFolder(store, cluster, id)}/manifest.json`,
  helmValues: (store: ObjectStoreConfig, cluster: string, id: string) => `${backupFolder(store, cluster, id)}/helm-values.yaml`,
  dump: (store: ObjectStoreConfig, cluster: string, id: string, database: string) => `${backupFolder(store, cluster, id)}/postgres/${database}.dump`,
  inventory: (store: ObjectStoreConfig, cluster: string, id: string) => `${backupFolder(store, cluster, id)}/inventory.ndjson.gz`,
  verification: (store: ObjectStoreConfig, cluster: string, id: string) => `${backupFolder(store, cluster, id)}/verify.json`,
  pin: (store: ObjectStoreConfig, cluster: string, id: string) => `${backupFolder(store, cluster, id)}/pinned.json`,
};

/** Backup ids sort by time and name their cluster: `<cluster>-20261124t031500z-7f3a`. */
export function newBackupId(cluster: string, at: Date = new Date(), random: () => string = () => Math.random().toString(16).slice(2, 6).padEnd(4, '0')): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'z').replace('T', 't');
  return `${cluster}-${stamp}-${random()}`;
}

const BACKUP_ID = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)-(\d{8}t\d{6}z)-([0-9a-f]{4})$/;

/** The cluster named in a backup id, or undefined when the text is not a backup id. */
export function parseBackupId(id: string): { cluster: string; stamp: string } | undefined {
  const m = BACKUP_ID.exec(id);
  return m ? { cluster: m[1]!, stamp: m[3]! } : undefined;
}
