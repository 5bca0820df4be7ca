import { S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../config/config.js';
import { createStoreRetryStrategy, STORE_RETRY_POLICY } from './store-retry-strategy.js';

/**
 * Connections one client keeps to its store at most: enough that the copy and listing limits
 * (`backup.copyConcurrency` and `backup.listConcurrency`, up to 256 each) are what bounds the requests in flight,
 * not the socket pool. Sockets open only as requests need them. At the SDK's 50 (64 here before), a
 * copyConcurrency of 128 queued half its copies inside the client.
 */
const MAX_SOCKETS = 512;

/**
 * An S3 client for one configured store. Checksums are computed only where the API requires them: with the
 * SDK's default (always), streamed uploads are sent aws-chunked, which some S3-compatible servers (s3rver,
 * older MinIO) store framing and all — silent corruption. Object integrity is checked by pachbackup itself.
 */
export function createS3Client(store: ObjectStoreConfig, options: { maxSockets?: number } = {}): S3Client {
  return new S3Client({
    region: store.region,
    ...(store.endpoint ? { endpoint: store.endpoint } : {}),
    forcePathStyle: store.forcePathStyle,
    ...(store.credentials ? { credentials: store.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Retries by the class of failure, with a budget per request (see store-retry-strategy.ts).
    maxAttempts: STORE_RETRY_POLICY.maxAttempts,
    retryStrategy: createStoreRetryStrategy(`the object store (${store.endpoint ?? 'S3'}, bucket ${store.bucket})`),
    requestHandler: { httpAgent: { maxSockets: options.maxSockets ?? MAX_SOCKETS, keepAlive: true }, httpsAgent: { maxSockets: options.maxSockets ?? MAX_SOCKETS, keepAlive: true } },
  });
}
