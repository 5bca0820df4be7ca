import { copyFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** What of s3rver's FilesystemStore the copy replaces (s3rver ships no types). */
interface CopyingStore {
  getResourcePath(bucket: string, key: string, resource: 'object' | 'metadata.json' | 'object.md5'): string;
  getMetadata(bucket: string, key: string): Promise<unknown>;
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, metadata?: unknown): Promise<unknown>;
}

/**
 * Makes s3rver's CopyObject copy an object's three files with one `copyFile` each, as S3 copies an object without
 * looking at the folders around it.
 *
 * s3rver copies with fs-extra's `copy`, which before every file stats the source, the target and each folder above
 * the target up to the filesystem's root (its guard against copying a folder into itself): a dozen `stat` calls per
 * file, more the deeper the key. In `npm run bench:copy` they were the largest single cost of the server — 7 s of
 * 28 s of its CPU for 20,000 copies — and they charged pachbackup's pool keys (`pachbackup/objects/chunk/…`, two
 * folders deeper than the bench's raw copy) for the sandbox's folder layout. Copies that replace the metadata, or
 * copy an object onto itself, keep s3rver's own path.
 */
export function copyFilesDirectly(store: CopyingStore): void {
  const original = store.copyObject.bind(store);
  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, replacementMetadata) => {
    const from = (resource: 'object' | 'metadata.json' | 'object.md5') => store.getResourcePath(srcBucket, srcKey, resource);
    const to = (resource: 'object' | 'metadata.json' | 'object.md5') => store.getResourcePath(destBucket, destKey, resource);
    if (replacementMetadata || from('object') === to('object')) return original(srcBucket, srcKey, destBucket, destKey, replacementMetadata);
    await mkdir(dirname(to('object')), { recursive: true });
    // The bytes first, as s3rver does: an object is listed once its metadata is there.
    await copyFile(from('object'), to('object'));
    await Promise.all([copyFile(from('metadata.json'), to('metadata.json')), copyFile(from('object.md5'), to('object.md5'))]);
    return store.getMetadata(destBucket, destKey);
  };
}
