import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';

/**
 * Chunk objects shaped like Pachyderm's: keys `chunk/<hex chunk id>.<16-hex generation>` where the id is the
 * hash of the (compressed, encrypted — here random, so incompressible) bytes, written once, never overwritten
 * (src/internal/storage/chunk/client.go). Each object gets its row in `storage.chunk_objects`, as pachd's
 * chunk tracker keeps it.
 */
export interface SeededChunk {
  key: string;
  size: number;
}

export type DatasetSize = 'small' | 'bench';

/** How many chunks of which sizes each sandbox size holds. */
export const DATASETS: Record<DatasetSize, { objects: number; minBytes: number; maxBytes: number }> = {
  small: { objects: 300, minBytes: 1024, maxBytes: 64 * 1024 },
  bench: { objects: 2400, minBytes: 16 * 1024, maxBytes: 512 * 1024 },
};

/** A chunk's object key from its bytes and generation. */
export function chunkKey(content: Uint8Array, generation: bigint): string {
  const id = createHash('sha256').update(content).digest('hex');
  return `chunk/${id}.${generation.toString(16).padStart(16, '0')}`;
}

/** Sizes spread log-uniformly between min and max, as chunk sizes are (many small, some large). */
function sizeAt(min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + Math.random() * (Math.log(max) - Math.log(min))));
}

/**
 * Writes `count` new chunks into `bucket` (and their rows into the pachyderm database when `db` is given).
 * Used to seed the sandbox and, by tests and benchmarks, to make a cluster grow between two backups.
 */
export async function addChunks(options: {
  s3: S3Client;
  bucket: string;
  db?: pg.ClientBase;
  count: number;
  minBytes: number;
  maxBytes: number;
  concurrency?: number;
}): Promise<SeededChunk[]> {
  const { s3, bucket, db, count } = options;
  const chunks: SeededChunk[] = [];
  const rows: { id: Buffer; gen: bigint; size: number }[] = [];
  let next = 0;
  const baseGeneration = BigInt(Date.now()) * 1000n;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const content = randomBytes(sizeAt(options.minBytes, options.maxBytes));
      const generation = baseGeneration + BigInt(i);
      const key = chunkKey(content, generation);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content, ContentLength: content.length }));
      chunks.push({ key, size: content.length });
      rows.push({ id: createHash('sha256').update(content).digest(), gen: generation, size: content.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, count) }, worker));
  if (db && rows.length > 0) {
    await db.query(
      `INSERT INTO storage.chunk_objects (chunk_id, gen, uploaded, tombstone, size)
       SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bool[], $4::bool[], $5::bigint[])`,
      [rows.map((r) => r.id), rows.map((r) => r.gen.toString()), rows.map(() => true), rows.map(() => false), rows.map((r) => r.size)],
    );
  }
  return chunks;
}
