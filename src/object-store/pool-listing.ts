import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../config/config.js';
import { listObjects, type ListObjectsOptions, type ListedObject } from './list-objects.js';
import { isInConflictArea, poolPrefix } from './pool-keys.js';

/**
 * Streams the pool of a backup store — keys relative to `<prefix>/objects/`, ascending — without its conflict
 * area (`.versions/…`), which a merge against cluster keys must not see; conflict locations are checked one by
 * one with HeadObject instead (see storedSize).
 */
export async function* listPool(s3: S3Client, store: ObjectStoreConfig, options: ListObjectsOptions = {}): AsyncGenerator<ListedObject> {
  for await (const object of listObjects(s3, store.bucket, poolPrefix(store), options)) {
    if (!isInConflictArea(object.key)) yield object;
  }
}
