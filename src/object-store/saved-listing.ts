import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { constants, createGunzip, createGzip } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PachbackupError } from '../errors.js';
import type { InventoryEntry } from './inventory-entry.js';
import type { InventorySummary } from './inventory.js';
import type { KeyRange } from './key-ranges.js';
import { toStoreError } from './store-error.js';

/**
 * A listing of the cluster bucket as one sync pass saw it, every object with where its bytes are in the backup
 * store, kept on this worker's local disk so that the next pass (and the pause) compares against it instead
 * of listing the pool: one file per key range, `part-<n>.ndjson.gz` (InventoryEntry lines in key order, gzip),
 * the ranges in key order. Memory stays flat: parts are written and read as streams. Concatenated in range
 * order, the parts are exactly an inventory file (gzip allows concatenated members).
 */
export interface SavedListing {
  dir: string;
  ranges: KeyRange[];
  parts: { file: string; objects: number; bytes: number }[];
}

/**
 * How parts are written: gzip's fastest level, or — for the listing taken during the pause, where CPU time is
 * outage — no compression at all (gzip's stored blocks: a copy and a CRC; 10 % of the pause's listing time at
 * 24,000 keys), left to the inventory upload after the resume.
 */
const PART_GZIP = { level: constants.Z_BEST_SPEED };
const STORED_GZIP = { level: constants.Z_NO_COMPRESSION };
/** The inventory as stored: compressed once, after the resume, at gzip's fastest level. */
const INVENTORY_GZIP = { level: constants.Z_BEST_SPEED };
const WRITE_BATCH = 64 * 1024;

/** Writes one part: `add` entries in key order, then `close`. */
export interface ListingPartWriter {
  add(entry: InventoryEntry): Promise<void>;
  close(): Promise<{ file: string; objects: number; bytes: number }>;
  abort(): Promise<void>;
}

export function createListingPartWriter(dir: string, index: number, options: { compress?: boolean } = {}): ListingPartWriter {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `part-${String(index).padStart(4, '0')}.ndjson.gz`);
  const gzip = createGzip(options.compress === false ? STORED_GZIP : PART_GZIP);
  const written = pipeline(gzip, createWriteStream(file));
  written.catch(() => undefined);
  let batch = '';
  let objects = 0;
  let bytes = 0;
  const flush = async () => {
    if (batch === '') return;
    const accepted = gzip.write(batch);
    batch = '';
    if (!accepted) await Promise.race([once(gzip, 'drain'), written]);
  };
  return {
    async add(entry) {
      objects += 1;
      bytes += entry.size;
      batch += `${JSON.stringify({ key: entry.key, size: entry.size, etag: entry.etag, storeKey: entry.storeKey })}\n`;
      if (batch.length >= WRITE_BATCH) await flush();
    },
    async close() {
      await flush();
      gzip.end();
      await written;
      return { file, objects, bytes };
    },
    async abort() {
      gzip.destroy();
      await written.catch(() => undefined);
    },
  };
}

/** Streams the entries of one part back, in key order. */
export async function* readListingPart(file: string): AsyncGenerator<InventoryEntry> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const source = createReadStream(file).pipe(createGunzip());
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const lines = (rest + decoder.write(chunk)).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) yield JSON.parse(line) as InventoryEntry;
    }
    rest += decoder.end();
    if (rest !== '') yield JSON.parse(rest) as InventoryEntry;
  } finally {
    source.destroy();
  }
}

/** Keys a range of a reshaped listing is sized below a whole number of pages by: room for what arrives meanwhile. */
const ARRIVAL_ROOM = 1.1;

/**
 * The same listing cut into key ranges for the pause: about `listConcurrency` ranges of about equal counts, each
 * a whole number of listing pages (with room for what arrives meanwhile), the cuts taken at keys of the listing
 * itself. Listing N keys in the pause then takes ⌈N / (pageSize × listConcurrency)⌉ request times, whatever
 * ranges the listing was taken in — a fan-out copy's ranges are sized for the workers, not the pause (8 ranges of
 * 3,000 keys at 24,000 objects: three requests in a row each, where 12 ranges of 2,000 take two). The ranges still
 * cover the same key space: the first starts where the listing's first did, the last ends where its last did.
 * Written to `outputDir` as a stream, part by part (memory flat); the listing itself is returned unchanged when its
 * ranges already list as fast. Run it while the cluster still runs: it reads and writes every entry once.
 */
export async function reshapeListing(listing: SavedListing, options: { outputDir: string; listConcurrency: number; pageSize?: number }): Promise<SavedListing> {
  const pageSize = options.pageSize ?? 1000;
  const pagesOf = (objects: number) => Math.max(1, Math.ceil((objects * ARRIVAL_ROOM) / pageSize));
  const total = listing.parts.reduce((n, p) => n + p.objects, 0);
  const concurrency = Math.max(1, options.listConcurrency);
  const pagesPerRange = pagesOf(Math.ceil(total / concurrency));
  const requestTimes = (pages: number, ranges: number) => pages * Math.ceil(ranges / concurrency);
  const now = requestTimes(Math.max(...listing.parts.map((p) => pagesOf(p.objects))), listing.ranges.length);
  if (total === 0 || now <= requestTimes(pagesPerRange, 1)) return listing;

  const perRange = Math.max(1, Math.floor((pagesPerRange * pageSize) / ARRIVAL_ROOM));
  const count = Math.ceil(total / perRange);
  const ranges: KeyRange[] = [];
  const parts: SavedListing['parts'] = [];
  let writer: ListingPartWriter | undefined;
  let inRange = 0;
  let after = listing.ranges[0]?.after;
  try {
    for (const part of listing.parts) {
      for await (const entry of readListingPart(part.file)) {
        writer ??= createListingPartWriter(options.outputDir, ranges.length);
        await writer.add(entry);
        inRange += 1;
        if (inRange === perRange && ranges.length < count - 1) {
          ranges.push({ ...(after === undefined ? {} : { after }), through: entry.key });
          parts.push(await writer.close());
          after = entry.key;
          writer = undefined;
          inRange = 0;
        }
      }
    }
    writer ??= createListingPartWriter(options.outputDir, ranges.length);
    const through = listing.ranges.at(-1)?.through;
    ranges.push({ ...(after === undefined ? {} : { after }), ...(through === undefined ? {} : { through }) });
    parts.push(await writer.close());
  } catch (err) {
    await writer?.abort();
    removeListing({ dir: options.outputDir });
    throw err;
  }
  return { dir: options.outputDir, ranges, parts };
}

/** True when every part of the listing is on this machine's disk (a retried run on another worker has none). */
export function isListingOnDisk(listing: SavedListing | undefined): listing is SavedListing {
  return listing !== undefined && listing.parts.length === listing.ranges.length && listing.parts.every((p) => existsSync(p.file));
}

/** Deletes a listing's files. Never throws. */
export function removeListing(listing: Pick<SavedListing, 'dir'> | undefined): void {
  if (listing) rmSync(listing.dir, { recursive: true, force: true });
}

/**
 * Uploads a listing as a backup's inventory file: its parts' entries in range order, so in key order, compressed
 * again on the way (the pause writes its listing uncompressed) as one gzip stream — one multipart upload,
 * SHA-256 computed on the way. Until the upload completes no object exists at `key`.
 */
export async function uploadListingAsInventory(
  listing: SavedListing,
  target: { s3: S3Client; bucket: string; key: string; signal?: AbortSignal },
): Promise<InventorySummary> {
  const where = `writing inventory s3://${target.bucket}/${target.key}`;
  if (!isListingOnDisk(listing)) {
    throw new PachbackupError('precondition', `${where}: the listing taken at the pause is not on this worker's disk (the worker that took it stopped)`, {
      hint: 'start a new backup',
    });
  }
  const hash = createHash('sha256');
  let compressedBytes = 0;
  const body = new PassThrough();
  /** The parts' entries, decompressed, in range order. */
  async function* entries() {
    for (const part of listing.parts) {
      const gunzip = createGunzip();
      const reading = pipeline(createReadStream(part.file), gunzip);
      reading.catch(() => undefined); // a read error also ends the loop below, which throws it
      for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
      await reading;
    }
  }
  const feed = pipeline(entries, createGzip(INVENTORY_GZIP), async function* (compressed: AsyncIterable<Buffer>) {
    for await (const chunk of compressed) {
      hash.update(chunk);
      compressedBytes += chunk.length;
      yield chunk;
    }
  }, body);
  const upload = new Upload({
    client: target.s3,
    params: { Bucket: target.bucket, Key: target.key, Body: body, ContentType: 'application/gzip' },
    queueSize: 2,
    leavePartsOnError: false,
  });
  const onAbort = () => void upload.abort().catch(() => undefined);
  target.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all([feed, upload.done()]);
  } catch (err) {
    body.destroy();
    await upload.abort().catch(() => undefined);
    throw toStoreError(err, where, target.signal);
  } finally {
    target.signal?.removeEventListener('abort', onAbort);
  }
  return {
    objects: listing.parts.reduce((n, p) => n + p.objects, 0),
    bytes: listing.parts.reduce((n, p) => n + p.bytes, 0),
    compressedBytes,
    sha256: hash.digest('hex'),
  };
}
