import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound, toStoreError } from './store-error.js';

/** The size of the object at `key` in `bucket` (HeadObject), or undefined when there is none. */
export async function storedSize(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<number | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return head.ContentLength ?? 0;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw toStoreError(err, `checking s3://${bucket}/${key}`, signal);
  }
}
