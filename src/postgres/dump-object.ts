import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describeError, PachbackupError } from '../errors.js';
import { throwIfCancelled } from './connection.js';

/** Where a dump is written or read: an object in a bucket, through a client for that store. */
export interface DumpObject {
  s3: S3Client;
  bucket: string;
  key: string;
}

/** `s3://bucket/key`, for messages. */
export function dumpLocation(object: DumpObject): string {
  return `s3://${object.bucket}/${object.key}`;
}

/** True for S3's "there is no such thing" answers (HeadObject 404, NoSuchKey, NoSuchUpload). */
export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.$metadata?.httpStatusCode === 404 || e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.name === 'NoSuchUpload';
}

/**
 * Starts reading a dump object: its byte stream and size. A missing object is 'not-found'; other store
 * failures are 'unavailable' (retryable); an aborted `signal` is 'cancelled'.
 */
export async function openDumpObject(object: DumpObject, signal: AbortSignal): Promise<{ body: Readable; size: number | undefined }> {
  try {
    const got = await object.s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), { abortSignal: signal });
    if (!got.Body) throw new Error('the store returned no body');
    return { body: got.Body as Readable, size: got.ContentLength };
  } catch (err) {
    throwIfCancelled(signal, `reading ${dumpLocation(object)}`);
    if (isNotFound(err)) {
      throw new PachbackupError('not-found', `the dump ${dumpLocation(object)} does not exist`, { hint: 'check the backup id and the backup store configuration', cause: err });
    }
    throw new PachbackupError('unavailable', `cannot read the dump ${dumpLocation(object)}: ${describeError(err)}`, { retryable: true, cause: err });
  }
}

/** The 'integrity' error for a dump whose bytes do not hash to what was recorded when it was made. */
export function sha256Mismatch(object: DumpObject, expected: string, actual: string, bytes: number): PachbackupError {
  return new PachbackupError('integrity', `sha256 mismatch for ${dumpLocation(object)}: expected ${expected}, got ${actual} (${bytes} bytes read)`, {
    hint: 'the dump was altered or damaged after it was written; do not restore it — use another backup',
  });
}
