import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../object-store/list-objects.js';
import type { ObjectStoreConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { backupFiles, clusterBackupsPrefix } from './backup-layout.js';
import type { BackupManifest, PinRecord, VerificationRecord } from './manifest.js';

/** A backup as the catalog lists it: its manifest and its latest verification, if any. */
export interface CatalogEntry {
  manifest: BackupManifest;
  verification?: VerificationRecord;
  pin?: PinRecord;
}

/**
 * The catalog of backups is the set of manifests in the backup store — nothing else — so listing and
 * restoring work when the state database was lost in the same disaster.
 */
export function createCatalog(s3: S3Client, store: ObjectStoreConfig) {
  async function getJson<T>(key: string): Promise<T | undefined> {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
      const text = await res.Body!.transformToString();
      try {
        return JSON.parse(text) as T;
      } catch (err) {
        throw new PachbackupError('integrity', `s3://${store.bucket}/${key} is not valid JSON`, { cause: err });
      }
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  const catalog = {
    /**
     * Backup folders of a cluster, by id (complete or not), ascending. Lists the files rather than asking for
     * common prefixes: some S3-compatible stores (s3rver) drop common prefixes, and a backup has a handful of files.
     */
    async listBackupIds(cluster: string): Promise<string[]> {
      const prefix = clusterBackupsPrefix(store, cluster);
      const ids = new Set<string>();
      for await (const object of listObjects(s3, store.bucket, prefix)) {
        const slash = object.key.indexOf('/');
        if (slash > 0) ids.add(object.key.slice(0, slash));
      }
      return [...ids];
    },

    async readManifest(cluster: string, id: string): Promise<BackupManifest | undefined> {
      return getJson<BackupManifest>(backupFiles.manifest(store, cluster, id));
    },

    /**
     * The newest complete backup's manifest: backup ids sort by time, so the newest few folders are read until
     * one has a manifest (a folder without one is a backup that failed or is being written).
     */
    async latestManifest(cluster: string): Promise<BackupManifest | undefined> {
      const ids = (await catalog.listBackupIds(cluster)).sort().reverse();
      for (const id of ids.slice(0, 5)) {
        const manifest = await catalog.readManifest(cluster, id);
        if (manifest) return manifest;
      }
      return undefined;
    },

    async readVerification(cluster: string, id: string): Promise<VerificationRecord | undefined> {
      return getJson<VerificationRecord>(backupFiles.verification(store, cluster, id));
    },

    async writeVerification(cluster: string, record: VerificationRecord): Promise<void> {
      await s3.send(
        new PutObjectCommand({
          Bucket: store.bucket,
          Key: backupFiles.verification(store, cluster, record.backupId),
          Body: `${JSON.stringify(record, null, 2)}\n`,
          ContentType: 'application/json',
        }),
      );
    },

    async readPin(cluster: string, id: string): Promise<PinRecord | undefined> {
      return getJson<PinRecord>(backupFiles.pin(store, cluster, id));
    },

    async writePin(cluster: string, pin: PinRecord): Promise<void> {
      await s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: backupFiles.pin(store, cluster, pin.backupId), Body: `${JSON.stringify(pin, null, 2)}\n`, ContentType: 'application/json' }));
    },

    async removePin(cluster: string, id: string): Promise<void> {
      await s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: backupFiles.pin(store, cluster, id) }));
    },

    /**
     * Complete backups, newest first, and the ids of folders without a manifest (a backup that failed or is
     * still being written — never listed as a backup).
     */
    async list(cluster: string): Promise<{ backups: CatalogEntry[]; incomplete: string[] }> {
      const ids = await catalog.listBackupIds(cluster);
      const entries = await mapLimit(ids, 8, async (id) => {
        const manifest = await catalog.readManifest(cluster, id);
        if (!manifest) return { id, entry: undefined };
        const [verification, pin] = await Promise.all([catalog.readVerification(cluster, id), catalog.readPin(cluster, id)]);
        return { id, entry: { manifest, ...(verification ? { verification } : {}), ...(pin ? { pin } : {}) } };
      });
      const backups = entries.flatMap((e) => (e.entry ? [e.entry] : [])).sort((a, b) => b.manifest.completedAt.localeCompare(a.manifest.completedAt));
      return { backups, incomplete: entries.filter((e) => !e.entry).map((e) => e.id) };
    },
  };
  return catalog;
}

export type Catalog = ReturnType<typeof createCatalog>;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}
