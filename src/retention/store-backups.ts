import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { storePath } from '../catalog/backup-layout.js';
import type { BackupManifest } from '../catalog/manifest.js';
import type { ObjectStoreConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { listObjects } from '../object-store/list-objects.js';

/** A backup folder of the store that has no manifest: a backup that failed, or one still being written. */
export interface UnfinishedBackup {
  cluster: string;
  id: string;
  /** The newest write in the folder. */
  lastWrite: Date;
}

/** Every backup the store holds, whoever wrote it. */
export interface StoreBackups {
  /** Complete backups (their manifest is there), of every cluster under the prefix. */
  complete: BackupManifest[];
  unfinished: UnfinishedBackup[];
}

/**
 * Every backup under the store's prefix — all clusters' folders `<prefix>/backups/<cluster>/<id>/`, configured in
 * this deployment or not — found by listing the store itself, since deployments sharing a store share nothing
 * else. One listing (a backup has a handful of files), then each manifest read. A manifest that cannot be read
 * or parsed throws: whoever deletes by what the manifests reference must not guess what one references.
 */
export async function listStoreBackups(s3: S3Client, store: ObjectStoreConfig, signal?: AbortSignal): Promise<StoreBackups> {
  const prefix = `${storePath(store, 'backups')}/`;
  const folders = new Map<string, { cluster: string; id: string; lastWrite: number; manifestKey?: string }>();
  for await (const object of listObjects(s3, store.bucket, prefix, signal ? { signal } : {})) {
    const [cluster, id, ...rest] = object.key.split('/');
    if (!cluster || !id || rest.length === 0) continue;
    const folder = `${cluster}/${id}`;
    const entry = folders.get(folder) ?? { cluster, id, lastWrite: 0 };
    entry.lastWrite = Math.max(entry.lastWrite, object.lastModified?.getTime() ?? 0);
    if (rest.join('/') === 'manifest.json') entry.manifestKey = `${prefix}${object.key}`;
    folders.set(folder, entry);
  }
  const complete: BackupManifest[] = [];
  const unfinished: UnfinishedBackup[] = [];
  for (const folder of folders.values()) {
    if (folder.manifestKey) complete.push(await readManifest(s3, store.bucket, folder.manifestKey, signal));
    else unfinished.push({ cluster: folder.cluster, id: folder.id, lastWrite: new Date(folder.lastWrite) });
  }
  return { complete, unfinished };
}

async function readManifest(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<BackupManifest> {
  const text = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })).Body!.transformToString();
  try {
    const manifest = JSON.parse(text) as BackupManifest;
    if (typeof manifest.objects?.inventory?.key !== 'string') throw new Error('no objects.inventory.key');
    return manifest;
  } catch (err) {
    throw new PachbackupError('integrity', `s3://${bucket}/${key} is not a backup manifest pachbackup can read, so what it references is unknown`, {
      cause: err,
      hint: 'repair or remove that backup (it is not restorable as it is) before pool garbage collection can run',
    });
  }
}
