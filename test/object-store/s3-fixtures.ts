/**
 * Helpers for the object-store suites: filling buckets, hashing what is stored, recording the requests a real
 * S3 client sends (through its public middleware stack), and a second s3rver process for cross-endpoint copies.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../../src/config/config.js';
import { createS3Client } from '../../src/object-store/s3-client.js';
import { stopProcess } from '../../src/sandbox/processes.js';
import { S3RVER_CREDENTIALS, startS3 } from '../../src/sandbox/services/s3.js';
import { uniqueName } from '../support/services.js';

/** Writes `objects` (key → bytes) into `bucket`, 16 at a time. */
export async function putObjects(s3: S3Client, bucket: string, objects: Map<string, Buffer>): Promise<void> {
  const entries = [...objects];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < entries.length) {
        const [key, body] = entries[next++]!;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }));
      }
    }),
  );
}

/** `count` random objects shaped like Pachyderm chunks (`chunk/<hex>.<generation>`), sizes between min and max. */
export function randomChunks(count: number, minBytes = 100, maxBytes = 20_000): Map<string, Buffer> {
  const objects = new Map<string, Buffer>();
  while (objects.size < count) {
    const body = randomBytes(minBytes + Math.floor(Math.random() * (maxBytes - minBytes + 1)));
    objects.set(`chunk/${createHash('sha256').update(body).digest('hex')}.${objects.size.toString(16).padStart(16, '0')}`, body);
  }
  return objects;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The bytes of one stored object. */
export async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** Every key under `prefix` with its size (fine for test-sized buckets). */
export async function listAll(s3: S3Client, bucket: string, prefix = ''): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** One request as the client sent it. */
export interface SentCommand {
  command: string;
  input: Record<string, unknown>;
  output?: Record<string, unknown>;
  failed?: string;
}

/** Records every command `s3` sends from now on (real requests; the middleware only watches). */
export function recordCommands(s3: S3Client): SentCommand[] {
  const sent: SentCommand[] = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const entry: SentCommand = { command: String(context.commandName), input: { ...(args.input as Record<string, unknown>) } };
      sent.push(entry);
      try {
        const result = await next(args);
        entry.output = result.output as unknown as Record<string, unknown>;
        return result;
      } catch (err) {
        entry.failed = err instanceof Error ? err.name : String(err);
        throw err;
      }
    },
    { step: 'initialize', name: `record-${uniqueName('commands')}` },
  );
  return sent;
}

/** A second s3rver process with its own data directory (so tests can see what it keeps on disk). */
export interface SecondS3 {
  endpoint: string;
  directory: string;
  store(bucket: string, prefix?: string): ObjectStoreConfig;
  client(bucket: string): S3Client;
  createBucket(prefix: string): Promise<{ name: string; s3: S3Client }>;
  /** Multipart uploads this s3rver still keeps for `bucket` (its answer to ListMultipartUploads is NotImplemented). */
  openUploads(bucket: string): string[];
  /** Kills the server at once (SIGKILL): connections in flight break mid-transfer. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory, after `kill`. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSecondS3(): Promise<SecondS3> {
  const root = mkdtempSync(join(tmpdir(), 'pachbackup-s3b-'));
  const directory = join(root, 'data');
  let s3 = await startS3({ directory, buckets: [], logFile: join(root, 's3.log') });
  const clients: S3Client[] = [];
  const store = (bucket: string, prefix = ''): ObjectStoreConfig => ({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    bucket,
    prefix,
    forcePathStyle: true,
    credentials: { ...S3RVER_CREDENTIALS },
  });
  const client = (bucket: string) => {
    const c = createS3Client(store(bucket));
    clients.push(c);
    return c;
  };
  return {
    endpoint: s3.endpoint,
    directory,
    store,
    client,
    async createBucket(prefix) {
      const name = uniqueName(prefix);
      const c = client(name);
      await c.send(new CreateBucketCommand({ Bucket: name }));
      return { name, s3: c };
    },
    openUploads(bucket) {
      try {
        return readdirSync(join(directory, bucket, '._S3rver_uploads'));
      } catch {
        return [];
      }
    },
    async kill() {
      await stopProcess(s3.pid, { signal: 'SIGKILL' });
    },
    async restart() {
      s3 = await startS3({ directory, buckets: [], logFile: join(root, 's3.log'), port: s3.port });
    },
    async stop() {
      for (const c of clients) c.destroy();
      await stopProcess(s3.pid);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Collects an async iterable (tests only: production code streams). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
