import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { linkAbort, throwIfCancelled, untilAborted } from './abort-link.js';
import { createConcurrencyLimit } from './concurrency-limit.js';
import { MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from './multipart-limits.js';
import { oneBucketClient } from './s3-client.js';
import { isNotImplemented, isTransient, toStoreError } from './store-error.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** S3's limit for a single PutObject or CopyObject; larger objects must be copied in parts. */
export const DEFAULT_MULTIPART_THRESHOLD = 5 * GIB;
/** Default part size of multipart copies. */
export const DEFAULT_PART_SIZE = 64 * MIB;
/** Default number of parts of one object in flight at once. */
export const DEFAULT_PART_CONCURRENCY = 4;
/** Attempts of one streamed transfer (GET then PUT) — see `withStreamRetry`. */
const STREAM_ATTEMPTS = 3;
/** A key of characters that encodeURIComponent leaves as they are, and slashes: its copy source needs no encoding. */
const UNENCODED_KEY = /^[A-Za-z0-9\-_.!~*'()/]*$/;
/** Default cap on streamed transfers (GET + PUT pairs) in flight across all copies of one copier. */
export const DEFAULT_MAX_STREAMS = 32;

/** A bucket and the client that reaches it. */
export interface CopyEndpoint {
  s3: S3Client;
  store: ObjectStoreConfig;
}

/** One object to copy: full keys in the source and target buckets, and what the listing said about it. */
export interface ObjectToCopy {
  sourceKey: string;
  targetKey: string;
  size: number;
  /** Unquoted ETag from the listing; when not empty, reads are conditional on it (the bytes cannot change mid-copy). */
  etag: string;
}

/** How an object was copied: server-side (`copy-object`, `multipart-copy`) or through this process (`stream`, `multipart-stream`). */
export type CopyMethod = 'copy-object' | 'stream' | 'multipart-copy' | 'multipart-stream';

/**
 * What the target store is known to support, learned while copying and shared by every copy of a copier
 * (pass the same object to later copiers to remember across runs). s3rver answers UploadPartCopy with
 * NotImplemented: once seen, multipart copies go straight to ranged GET + UploadPart.
 */
export interface CopyCapabilities {
  uploadPartCopy: 'unknown' | 'supported' | 'unsupported';
}

/** Something went wrong that did not fail the copy but someone should know about. */
export interface CopyWarning {
  /** An abandoned multipart upload could not be aborted (s3rver cannot abort at all): its parts may linger until a lifecycle rule removes them. */
  code: 'abort-multipart-failed';
  bucket: string;
  key: string;
  uploadId: string;
  cause: unknown;
}

/** What a copier needs. */
export interface ObjectCopierOptions {
  source: CopyEndpoint;
  target: CopyEndpoint;
  /** Objects larger than this are copied in parts (default 5 GiB, S3's single-copy limit). */
  multipartThreshold?: number;
  /** Part size of multipart copies (default 64 MiB, at least 5 MiB; raised when an object would need over 10,000 parts). */
  partSize?: number;
  /** Parts of one object in flight at once (default 4). */
  partConcurrency?: number;
  /**
   * Streamed transfers in flight at once across every copy (default 32). Each holds a connection to each store;
   * when source and target share one client, keep it at most half that client's sockets, or GETs waiting for
   * their PUTs could take every socket.
   */
  maxStreams?: number;
  /** Force server-side copies on or off; by default `canCopyServerSide(source.store, target.store)`. */
  serverSide?: boolean;
  capabilities?: CopyCapabilities;
  onWarning?: (warning: CopyWarning) => void;
}

/** Per-copy options. */
export interface CopyCallOptions {
  signal?: AbortSignal;
  /** Called with a number of bytes each time a whole object or one part of it has been written to the target. */
  onBytes?: (bytes: number) => void;
}

/**
 * Copies objects from one store to another. A copy either completes — the target holds the whole object — or
 * throws and leaves no object at the target key: single copies are one atomic request, and a multipart
 * upload is only completed after every part succeeded; on failure or cancellation it is aborted (after the
 * parts in flight have settled) so no parts are left behind where the store supports aborting. A server-side
 * copy of a whole object is not aborted when cancelled, only no longer waited for: the store then stores it
 * whole or not at all, as it may for an aborted request too.
 */
export interface ObjectCopier {
  /** True when copies run inside the store (CopyObject / UploadPartCopy) rather than through this process. */
  readonly serverSide: boolean;
  readonly capabilities: CopyCapabilities;
  copy(object: ObjectToCopy, options?: CopyCallOptions): Promise<CopyMethod>;
}

/**
 * Whether the target store can read the source objects itself: both on the same endpoint host (or both on AWS,
 * no endpoint, in the same region) with the same credentials. Otherwise bytes must flow through this process.
 */
export function canCopyServerSide(source: ObjectStoreConfig, target: ObjectStoreConfig): boolean {
  const sameCredentials =
    source.credentials?.accessKeyId === target.credentials?.accessKeyId && source.credentials?.secretAccessKey === target.credentials?.secretAccessKey;
  if (!sameCredentials || storeService(source) !== storeService(target)) return false;
  return source.endpoint ? true : source.region === target.region;
}

/** Which S3 service a store lives on: its endpoint's host (with port), or 'aws' when it has no endpoint. */
export function storeService(store: ObjectStoreConfig): string {
  if (!store.endpoint) return 'aws';
  return URL.canParse(store.endpoint) ? new URL(store.endpoint).host : store.endpoint;
}

/** The part size used for an object: the configured one, raised (to whole MiB) so the object fits in 10,000 parts. */
export function partSizeFor(size: number, partSize: number): number {
  const needed = Math.ceil(Math.ceil(size / MAX_PARTS) / MIB) * MIB;
  return Math.min(MAX_PART_SIZE, Math.max(partSize, needed, MIN_PART_SIZE));
}

/** Creates a copier from `source` to `target`; see ObjectCopier for its guarantees. */
export function createObjectCopier(options: ObjectCopierOptions): ObjectCopier {
  const { source, target } = options;
  const multipartThreshold = options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  const partConcurrency = Math.max(1, Math.floor(options.partConcurrency ?? DEFAULT_PART_CONCURRENCY));
  if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new PachbackupError('config-invalid', `part size ${partSize} is outside S3's limits`, { hint: 'use a part size between 5 MiB and 5 GiB' });
  }
  if (!(multipartThreshold > 0) || multipartThreshold > DEFAULT_MULTIPART_THRESHOLD) {
    throw new PachbackupError('config-invalid', `multipart threshold ${multipartThreshold} is outside S3's limits`, {
      hint: 'use a threshold above 0 and at most 5 GiB',
    });
  }
  const serverSide = options.serverSide ?? canCopyServerSide(source.store, target.store);
  const capabilities = options.capabilities ?? { uploadPartCopy: 'unknown' };
  const streams = createConcurrencyLimit(options.maxStreams ?? DEFAULT_MAX_STREAMS);
  const sourceBucket = source.store.bucket;
  const targetBucket = target.store.bucket;
  // Whole-object copies, most of a copy's requests, through a client that resolves CopyObject's middleware once.
  const copyClient = serverSide ? oneBucketClient(target.s3) : undefined;

  // S3 wants x-amz-copy-source URL-encoded and the SDK sends it as given; slashes stay literal. Most keys
  // (Pachyderm's chunks are hex) have nothing to encode: they are used as they are.
  const copySource = (key: string) => `${sourceBucket}/${UNENCODED_KEY.test(key) ? key : key.split('/').map(encodeURIComponent).join('/')}`;
  const ifMatch = (etag: string) => (etag === '' ? undefined : `"${etag}"`);

  const getSource = async (object: ObjectToCopy, signal: AbortSignal | undefined, range?: { start: number; end: number }) => {
    const got = await source.s3.send(
      new GetObjectCommand({
        Bucket: sourceBucket,
        Key: object.sourceKey,
        IfMatch: ifMatch(object.etag),
        Range: range ? `bytes=${range.start}-${range.end}` : undefined,
      }),
      { abortSignal: signal },
    );
    const expected = range ? range.end - range.start + 1 : object.size;
    const body = got.Body;
    if (!(body instanceof Readable)) {
      throw new PachbackupError('unavailable', `s3://${sourceBucket}/${object.sourceKey}: the store sent no body`, { retryable: true });
    }
    if (got.ContentLength !== expected) {
      body.destroy();
      throw new PachbackupError('integrity', `s3://${sourceBucket}/${object.sourceKey} is ${got.ContentLength} bytes, the listing said ${expected}`, {
        retryable: true,
        hint: 'the object changed after it was listed; Pachyderm never rewrites a chunk, so something else writes to this bucket',
      });
    }
    return { body, got };
  };

  const streamObject = async (object: ObjectToCopy, signal: AbortSignal | undefined): Promise<void> => {
    if (object.size === 0) {
      await target.s3.send(new PutObjectCommand({ Bucket: targetBucket, Key: object.targetKey, Body: new Uint8Array(0), ContentLength: 0 }), {
        abortSignal: signal,
      });
      return;
    }
    await withStreamRetry(signal, () =>
      streams.run(
        () =>
          pipeTransfer(
            signal,
            (transferSignal) => getSource(object, transferSignal),
            async (body, got, transferSignal) => {
              await target.s3.send(
                new PutObjectCommand({ Bucket: targetBucket, Key: object.targetKey, Body: body, ContentLength: object.size, ContentType: got.ContentType }),
                { abortSignal: transferSignal },
              );
            },
          ),
        signal,
      ),
    );
  };

  const multipart = async (object: ObjectToCopy, signal: AbortSignal | undefined, onBytes: (n: number) => void): Promise<CopyMethod> => {
    const size = partSizeFor(object.size, partSize);
    const count = Math.max(1, Math.ceil(object.size / size));
    const rangeOf = (part: number) => ({ start: (part - 1) * size, end: Math.min(object.size, part * size) - 1 });
    // Not cancellable mid-request: an upload created after we stopped listening would be one we cannot abort.
    const created = await target.s3.send(new CreateMultipartUploadCommand({ Bucket: targetBucket, Key: object.targetKey }));
    const uploadId = created.UploadId;
    if (!uploadId) throw new PachbackupError('unavailable', `s3://${targetBucket}/${object.targetKey}: the store started a multipart upload without an id`);
    const link = linkAbort(signal);
    const etags: string[] = new Array<string>(count);

    const copyPart = async (part: number, partSignal: AbortSignal): Promise<string> => {
      const { start, end } = rangeOf(part);
      const out = await target.s3.send(
        new UploadPartCopyCommand({
          Bucket: targetBucket,
          Key: object.targetKey,
          UploadId: uploadId,
          PartNumber: part,
          CopySource: copySource(object.sourceKey),
          CopySourceRange: `bytes=${start}-${end}`,
          CopySourceIfMatch: ifMatch(object.etag),
        }),
        { abortSignal: partSignal },
      );
      return requireEtag(out.CopyPartResult?.ETag, part);
    };
    const streamPart = (part: number, partSignal: AbortSignal): Promise<string> => {
      const range = rangeOf(part);
      return withStreamRetry(partSignal, () =>
        streams.run(
          () =>
            pipeTransfer(
              partSignal,
              (transferSignal) => getSource(object, transferSignal, range),
              async (body, _got, transferSignal) => {
                const out = await target.s3.send(
                  new UploadPartCommand({
                    Bucket: targetBucket,
                    Key: object.targetKey,
                    UploadId: uploadId,
                    PartNumber: part,
                    Body: body,
                    ContentLength: range.end - range.start + 1,
                  }),
                  { abortSignal: transferSignal },
                );
                return requireEtag(out.ETag, part);
              },
            ),
          partSignal,
        ),
      );
    };
    const requireEtag = (etag: string | undefined, part: number): string => {
      if (!etag) throw new PachbackupError('unavailable', `s3://${targetBucket}/${object.targetKey}: part ${part} was stored without an ETag`);
      return etag;
    };

    try {
      let firstPart = 1;
      let method: CopyMethod = 'multipart-stream';
      if (serverSide && capabilities.uploadPartCopy !== 'unsupported') {
        if (capabilities.uploadPartCopy === 'unknown') {
          // The first part tells whether the store copies parts itself; the rest then run in parallel.
          try {
            etags[0] = await copyPart(1, link.signal);
            onBytes(rangeOf(1).end + 1);
            firstPart = 2;
            capabilities.uploadPartCopy = 'supported';
          } catch (err) {
            if (!isNotImplemented(err) || link.signal.aborted) throw err;
            capabilities.uploadPartCopy = 'unsupported';
          }
        }
        if (capabilities.uploadPartCopy === 'supported') method = 'multipart-copy';
      }
      const transfer = method === 'multipart-copy' ? copyPart : streamPart;
      let next = firstPart;
      let firstError: { error: unknown } | undefined;
      const worker = async () => {
        while (next <= count && !link.signal.aborted) {
          const part = next++;
          try {
            etags[part - 1] = await transfer(part, link.signal);
          } catch (error) {
            firstError ??= { error };
            link.abort(error);
            return;
          }
          const { start, end } = rangeOf(part);
          onBytes(end - start + 1);
        }
      };
      // Every worker settles before the upload is completed or aborted: parts still in flight when an upload
      // is aborted may otherwise be stored after it.
      await Promise.all(Array.from({ length: Math.min(partConcurrency, count - firstPart + 1) }, worker));
      if (firstError) throw firstError.error;
      throwIfCancelled(signal, `copying s3://${sourceBucket}/${object.sourceKey}`);
      await target.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: targetBucket,
          Key: object.targetKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
      return method;
    } catch (err) {
      link.abort(err);
      try {
        await target.s3.send(new AbortMultipartUploadCommand({ Bucket: targetBucket, Key: object.targetKey, UploadId: uploadId }));
      } catch (cause) {
        options.onWarning?.({ code: 'abort-multipart-failed', bucket: targetBucket, key: object.targetKey, uploadId, cause });
      }
      throw err;
    } finally {
      link.dispose();
    }
  };

  return {
    serverSide,
    capabilities,
    async copy(object, callOptions = {}) {
      const { signal } = callOptions;
      const onBytes = callOptions.onBytes ?? (() => undefined);
      const what = `copying s3://${sourceBucket}/${object.sourceKey} to s3://${targetBucket}/${object.targetKey}`;
      throwIfCancelled(signal, what);
      try {
        if (object.size > multipartThreshold) return await multipart(object, signal, onBytes);
        if (serverSide) {
          const command = new CopyObjectCommand({
            Bucket: targetBucket,
            Key: object.targetKey,
            CopySource: copySource(object.sourceKey),
            CopySourceIfMatch: ifMatch(object.etag),
          });
          // A copy is one atomic request: one the caller stopped waiting for lands whole or not at all.
          await (copyClient ? untilAborted(copyClient.send(command), signal) : target.s3.send(command, { abortSignal: signal }));
          onBytes(object.size);
          return 'copy-object';
        }
        await streamObject(object, signal);
        onBytes(object.size);
        return 'stream';
      } catch (err) {
        throw toStoreError(err, what, signal);
      }
    },
  };
}

/**
 * Opens a source body and sends it to the target. The SDK pipes a request body without watching it for errors,
 * so a source connection that breaks mid-body would leave the upload waiting for bytes that never come (and an
 * 'error' event nobody listens to). Here a body error aborts the upload at once and is what gets thrown — a
 * network error, so `withStreamRetry` can try again.
 */
async function pipeTransfer<T>(
  signal: AbortSignal | undefined,
  open: (signal: AbortSignal) => Promise<{ body: Readable; got: GetObjectCommandOutput }>,
  send: (body: Readable, got: GetObjectCommandOutput, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const link = linkAbort(signal);
  let bodyError: { error: unknown } | undefined;
  try {
    const { body, got } = await open(link.signal);
    body.on('error', (error) => {
      bodyError ??= { error };
      link.abort(error);
    });
    try {
      return await send(body, got, link.signal);
    } catch (err) {
      throw bodyError && !signal?.aborted ? bodyError.error : err;
    } finally {
      body.destroy();
    }
  } finally {
    link.dispose();
  }
}

/**
 * Runs one streamed transfer (GET, then PUT or UploadPart of its body) up to three times on transient failures.
 * This is not a second layer over the SDK's retries: the SDK does not retry a request whose body is a stream
 * (it cannot rewind it), so only a fresh GET can; the GET itself is still retried by the SDK.
 */
async function withStreamRetry<T>(signal: AbortSignal | undefined, transfer: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transfer();
    } catch (err) {
      if (attempt >= STREAM_ATTEMPTS || signal?.aborted || !isTransient(err)) throw err;
      await sleep(100 * 2 ** attempt + Math.random() * 100, undefined, signal ? { signal } : undefined);
    }
  }
}
