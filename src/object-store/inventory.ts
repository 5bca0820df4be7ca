import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PachbackupError } from '../errors.js';
import { cancelledError } from './abort-link.js';
import type { InventoryEntry } from './inventory-entry.js';
import { toStoreError } from './store-error.js';

/**
 * A backup's inventory, `inventory.ndjson.gz`: one JSON object per line — `{"key","size","etag","storeKey"}`,
 * see InventoryEntry — in the cluster listing's order (ascending key), gzip-compressed. It is written and read
 * as a stream: neither side ever holds the whole file, in memory or on disk.
 */
export const INVENTORY_FILE = 'inventory.ndjson.gz';

/** Lines are gathered into writes of about this many characters (one gzip write per entry is slow at millions). */
const WRITE_BATCH = 64 * 1024;
/** A line longer than this cannot be ours (S3 keys are at most 1024 bytes): the file is corrupt. */
const MAX_LINE = 16 * 1024;

/** What was written, for the manifest. */
export interface InventorySummary {
  /** Entries written. */
  objects: number;
  /** Sum of the entries' sizes: the bytes of cluster data the backup covers. */
  bytes: number;
  /** Size of the compressed file as stored. */
  compressedBytes: number;
  /** SHA-256 (hex) of the compressed file as stored. */
  sha256: string;
}

/**
 * Streams an inventory into the backup store. `add` resolves when the entry is accepted — it waits while the
 * compressor and the upload are behind (backpressure), so memory stays at a few upload parts. `close` finishes
 * the upload and resolves once the object is stored; until then no object exists at `key` (a multipart upload
 * is completed only at the end). `abort` abandons the upload. After a failure every call rejects with it.
 */
export interface InventoryWriter {
  add(entry: InventoryEntry): Promise<void>;
  close(): Promise<InventorySummary>;
  abort(): Promise<void>;
}

/** Starts writing the inventory object `key` in `bucket`; see InventoryWriter. */
export function createInventoryWriter(options: { s3: S3Client; bucket: string; key: string; signal?: AbortSignal; partSize?: number }): InventoryWriter {
  const { s3, bucket, key, signal } = options;
  const where = `writing inventory s3://${bucket}/${key}`;
  const hash = createHash('sha256');
  let compressedBytes = 0;
  let objects = 0;
  let bytes = 0;
  let batch = '';
  let state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';

  const gzip = createGzip();
  const measured = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      compressedBytes += chunk.length;
      callback(null, chunk);
    },
  });
  gzip.on('error', (err) => measured.destroy(err));
  gzip.pipe(measured);

  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: measured, ContentType: 'application/gzip' },
    ...(options.partSize ? { partSize: options.partSize } : {}),
    queueSize: 2,
    leavePartsOnError: false,
  });
  let failure: PachbackupError | undefined;
  const done = upload.done().then(
    () => undefined,
    (err: unknown) => {
      failure ??= toStoreError(err, where, signal);
      throw failure;
    },
  );
  done.catch(() => undefined);

  const onAbort = () => void upload.abort().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  const detach = () => signal?.removeEventListener('abort', onAbort);

  const check = () => {
    if (failure) throw failure;
    if (signal?.aborted) throw cancelledError(where, signal.reason);
    if (state !== 'open') throw new PachbackupError('internal', `${where}: the writer is ${state}`);
  };
  const flush = async () => {
    if (batch === '') return;
    const accepted = gzip.write(batch);
    batch = '';
    if (!accepted) await Promise.race([once(gzip, 'drain'), done]);
  };

  return {
    async add(entry) {
      check();
      validateEntry(entry, where);
      objects += 1;
      bytes += entry.size;
      batch += `${JSON.stringify({ key: entry.key, size: entry.size, etag: entry.etag, storeKey: entry.storeKey })}\n`;
      if (batch.length >= WRITE_BATCH) await flush();
    },
    async close() {
      try {
        check();
      } catch (err) {
        detach();
        throw err;
      }
      state = 'closing';
      try {
        await flush();
        gzip.end();
        await done;
      } catch (err) {
        state = 'aborted';
        await upload.abort().catch(() => undefined);
        throw failure ?? toStoreError(err, where, signal);
      } finally {
        detach();
      }
      state = 'closed';
      return { objects, bytes, compressedBytes, sha256: hash.digest('hex') };
    },
    async abort() {
      if (state === 'closed' || state === 'aborted') return;
      state = 'aborted';
      detach();
      await upload.abort().catch(() => undefined);
      gzip.destroy();
      await done.catch(() => undefined);
    },
  };
}

/**
 * Streams the entries of an inventory object back, in file order: gunzipped and split into lines as the bytes
 * arrive. A file that is not gzip, is cut short, or holds a line that is not a valid entry fails with
 * PachbackupError 'integrity' naming the file (and the line); with `expectedSha256` (from the manifest) the
 * compressed bytes are also checked against it once the whole file has been read.
 */
export async function* readInventory(options: {
  s3: S3Client;
  bucket: string;
  key: string;
  signal?: AbortSignal;
  expectedSha256?: string;
}): AsyncGenerator<InventoryEntry> {
  const { s3, bucket, key, signal } = options;
  const where = `inventory s3://${bucket}/${key}`;
  let body: Readable;
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    if (!(got.Body instanceof Readable)) throw new PachbackupError('unavailable', `reading ${where}: the store sent no body`, { retryable: true });
    body = got.Body;
  } catch (err) {
    throw toStoreError(err, `reading ${where}`, signal);
  }
  const hash = createHash('sha256');
  const gunzip = createGunzip();
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  body.on('error', (err) => gunzip.destroy(err));
  body.pipe(gunzip);

  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const lines = (rest + decoder.write(chunk)).split('\n');
      rest = lines.pop() ?? '';
      if (rest.length > MAX_LINE) throw corrupt(where, `line ${line + 1} is longer than ${MAX_LINE} characters`);
      for (const text of lines) {
        line += 1;
        yield parseLine(text, line, where);
      }
    }
    rest += decoder.end();
    if (rest !== '') {
      line += 1;
      yield parseLine(rest, line, where);
    }
    if (options.expectedSha256 !== undefined) {
      const actual = hash.digest('hex');
      if (actual !== options.expectedSha256.toLowerCase()) {
        throw corrupt(where, `its SHA-256 is ${actual}, the manifest says ${options.expectedSha256}`);
      }
    }
  } catch (err) {
    if (err instanceof PachbackupError) throw err;
    if (isZlibError(err)) throw corrupt(where, `it is not a complete gzip file (${(err as Error).message})`, err);
    throw toStoreError(err, `reading ${where}`, signal);
  } finally {
    body.destroy();
    gunzip.destroy();
  }
}

function isZlibError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('Z_');
}

function corrupt(where: string, detail: string, cause?: unknown): PachbackupError {
  return new PachbackupError('integrity', `${where} is corrupt: ${detail}`, {
    ...(cause === undefined ? {} : { cause }),
    hint: 'this backup cannot be verified or restored from its inventory; take a new backup',
  });
}

function parseLine(text: string, line: number, where: string): InventoryEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw corrupt(where, `line ${line} is not JSON`);
  }
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const entry = { key: v.key, size: v.size, etag: v.etag, storeKey: v.storeKey };
  if (!isEntry(entry)) throw corrupt(where, `line ${line} is not an inventory entry`);
  return entry;
}

function isEntry(v: { key: unknown; size: unknown; etag: unknown; storeKey: unknown }): v is InventoryEntry {
  return (
    typeof v.key === 'string' &&
    v.key !== '' &&
    typeof v.size === 'number' &&
    Number.isSafeInteger(v.size) &&
    v.size >= 0 &&
    typeof v.etag === 'string' &&
    typeof v.storeKey === 'string' &&
    v.storeKey !== ''
  );
}

function validateEntry(entry: InventoryEntry, where: string): void {
  if (!isEntry(entry)) {
    throw new PachbackupError('internal', `${where}: refusing an invalid entry ${JSON.stringify(entry)}`);
  }
}
