import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { storePath } from '../catalog/backup-layout.js';
import type { ObjectStoreConfig } from '../config/config.js';
import { listObjects } from '../object-store/list-objects.js';
import { isNotFound } from '../object-store/store-error.js';

/**
 * That a cluster runs on a backup store's pool in place (a restore with the backup pool used where it is):
 * Pachyderm then writes its chunks into the pool and deletes the ones its own garbage collection drops, so the
 * pool is live data, not a backup. Kept in the store itself (`<prefix>/pool-in-use/<cluster>.json`) so that every
 * pachbackup deployment sharing the store sees it; pool garbage collection leaves the pool alone while any exists.
 */
export interface PoolInUseRecord {
  cluster: string;
  restoreId: string;
  backupId: string;
  since: string;
  by: string;
}

function recordKey(store: ObjectStoreConfig, cluster: string): string {
  return storePath(store, 'pool-in-use', `${cluster}.json`);
}

/** Records that `record.cluster` runs on the pool of `store`. */
export async function recordPoolInUse(s3: S3Client, store: ObjectStoreConfig, record: PoolInUseRecord, signal?: AbortSignal): Promise<string> {
  const key = recordKey(store, record.cluster);
  await s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: JSON.stringify(record, null, 2), ContentType: 'application/json' }), { abortSignal: signal });
  return key;
}

/**
 * Removes the record of `cluster` (it no longer runs on the pool); false when there was none, or when
 * `onlyRestore` is given and the record is another restore's (a restore undoing itself leaves an earlier one's).
 */
export async function releasePoolInUse(s3: S3Client, store: ObjectStoreConfig, cluster: string, options: { onlyRestore?: string } = {}): Promise<boolean> {
  const key = recordKey(store, cluster);
  let record: Partial<PoolInUseRecord> = {};
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
    record = JSON.parse(await got.Body!.transformToString()) as PoolInUseRecord;
  } catch (err) {
    if (isNotFound(err)) return false;
    if (!(err instanceof SyntaxError)) throw err;
  }
  if (options.onlyRestore !== undefined && record.restoreId !== options.onlyRestore) return false;
  await s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: key }));
  return true;
}

/** Every cluster recorded as running on the pool of `store`, with where its record is. */
export async function poolsInUse(s3: S3Client, store: ObjectStoreConfig, signal?: AbortSignal): Promise<(PoolInUseRecord & { key: string })[]> {
  const prefix = `${storePath(store, 'pool-in-use')}/`;
  const records: (PoolInUseRecord & { key: string })[] = [];
  for await (const object of listObjects(s3, store.bucket, prefix, signal ? { signal } : {})) {
    const key = `${prefix}${object.key}`;
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }), { abortSignal: signal });
      records.push({ ...(JSON.parse(await got.Body!.transformToString()) as PoolInUseRecord), key });
    } catch (err) {
      if (isNotFound(err)) continue;
      // An unreadable record still says the pool is in use: keep it, naming only its key.
      records.push({ cluster: object.key.replace(/\.json$/, ''), restoreId: '?', backupId: '?', since: object.lastModified?.toISOString() ?? '?', by: '?', key });
    }
  }
  return records;
}
