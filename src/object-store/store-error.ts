import { PachbackupError } from '../errors.js';
import { cancelledError } from './abort-link.js';

/** The parts of an AWS SDK service exception that say what happened. */
interface ServiceErrorShape {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

function shape(err: unknown): ServiceErrorShape {
  return typeof err === 'object' && err !== null ? (err as ServiceErrorShape) : {};
}

/** True when the store answered that the object (or bucket, or upload) does not exist. */
export function isNotFound(err: unknown): boolean {
  const e = shape(err);
  return e.$metadata?.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchKey';
}

/** True when the store does not implement the operation (s3rver's answer to UploadPartCopy). */
export function isNotImplemented(err: unknown): boolean {
  const e = shape(err);
  return e.name === 'NotImplemented' || e.$metadata?.httpStatusCode === 501;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * True for failures where sending the same request again may succeed: the network, timeouts, throttling and
 * 5xx answers other than 501. Used only where the SDK cannot retry by itself (a request whose body is a stream).
 */
export function isTransient(err: unknown): boolean {
  const e = shape(err);
  if (e.name === 'AbortError') return false;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500 && status !== 501) return true;
  if (status === 429 || e.name === 'SlowDown' || e.name === 'RequestTimeout' || e.name === 'TimeoutError') return true;
  return e.code !== undefined && NETWORK_CODES.has(e.code);
}

/**
 * Turns whatever an S3 call threw into the one coded error type: 'cancelled' when the caller's signal was
 * aborted, 'not-found', 'forbidden', and otherwise 'unavailable' (retryable: the sync is idempotent, so a
 * retried job copies only what is still missing). Our own errors pass through unchanged.
 */
export function toStoreError(err: unknown, what: string, signal?: AbortSignal): PachbackupError {
  if (err instanceof PachbackupError) return err;
  const e = shape(err);
  if (signal?.aborted || e.name === 'AbortError') return cancelledError(what, err);
  const status = e.$metadata?.httpStatusCode;
  const detail = err instanceof Error ? err.message || e.name : String(err);
  if (isNotFound(err)) return new PachbackupError('not-found', `${what}: not found (${detail})`, { cause: err });
  if (status === 403 || e.name === 'AccessDenied' || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch') {
    return new PachbackupError('forbidden', `${what}: access denied (${detail})`, {
      cause: err,
      hint: 'check the credentials and the bucket policy of this object store',
    });
  }
  if (status === 412 || e.name === 'PreconditionFailed') {
    return new PachbackupError('conflict', `${what}: the object changed while it was being copied (${detail})`, { cause: err, retryable: true });
  }
  return new PachbackupError('unavailable', `${what}: ${detail}`, { cause: err, retryable: status === undefined || status >= 500 || status === 429 });
}
