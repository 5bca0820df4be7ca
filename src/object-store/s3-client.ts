import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
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
  const settings: S3ClientConfig = {
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
  };
  const client = new S3Client(settings);
  settingsOf.set(client, settings);
  return client;
}

/** What each client of `createS3Client` was made with, for `oneBucketClient`. */
const settingsOf = new WeakMap<S3Client, S3ClientConfig>();

/**
 * A client like `client` — its settings, middleware, connections and credentials — that resolves each command's
 * middleware once instead of on every request (the SDK's `cacheMiddleware`): about a quarter less CPU per small
 * request, which is what a copy of many small objects is made of. Undefined for a client `createS3Client` did not
 * make.
 *
 * Two rules come with it. Requests must be sent without options (`send(command)`; options turn the cache off),
 * so a caller that wants to stop waiting on a signal races the request against it (`untilAborted`). And one such
 * client should address one bucket: a cached handler keeps a single context for every request of its command, and
 * the SDK writes each request's endpoint — which names the bucket — into it. As the SDK is written today it reads
 * that back before any other request can overwrite it (one such client shared by two syncs of 2,000 objects into
 * two buckets at once misplaced none), but nothing documents it; so the copier makes one of these per copy, for
 * its one target bucket. Never destroy it: it shares `client`'s connections.
 */
export function oneBucketClient(client: S3Client): S3Client | undefined {
  const settings = settingsOf.get(client);
  if (!settings) return undefined;
  const bound = new S3Client({ ...settings, credentials: client.config.credentials, requestHandler: client.config.requestHandler, cacheMiddleware: true });
  // The same middleware as `client`, including any added to it since it was made.
  bound.middlewareStack = client.middlewareStack;
  return bound;
}
