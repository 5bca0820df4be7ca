import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { storePath } from '../catalog/backup-layout.js';
import type { ObjectStoreConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { isNotFound } from '../object-store/store-error.js';

/** What the lease object holds: who has the store, until when, and the token that tells this holder's write apart. */
export interface LeaseRecord {
  owner: string;
  token: string;
  acquiredAt: string;
  expiresAt: string;
  purpose: string;
}

/** A held lease: renew it while the work lasts (it expires by itself otherwise), release it at the end. */
export interface StoreLease {
  readonly record: LeaseRecord;
  /** Extends the lease; throws 'conflict' when another holder has taken it meanwhile (stop the work then). */
  renew(): Promise<void>;
  /** Deletes the lease object if it is still this holder's. */
  release(): Promise<void>;
}

/** `<prefix>/locks/<name>.json`: where a store-wide lease is kept. */
export function leaseKey(store: Pick<ObjectStoreConfig, 'prefix'>, name: string): string {
  return storePath(store as ObjectStoreConfig, 'locks', `${name}.json`);
}

/**
 * Takes a store-wide lease kept as an object in the backup store itself, so that pachbackup deployments that share
 * nothing but the store (other clusters, other Kubernetes clusters, a laptop with the CLI) exclude each other:
 * read the lease; if another holder's has not expired, refuse ('conflict', naming it and until when); otherwise
 * write ours with a fresh token — conditionally (`If-None-Match: *`, or `If-Match` on the expired one's ETag)
 * where the store supports conditional writes, which makes the step atomic — then wait `settleMs` and read it
 * again: only the holder whose token is there has the lease.
 *
 * Limits, on stores that ignore conditional writes (s3rver, older S3-compatible stores): two takers whose writes
 * land more than `settleMs` apart around the other's read-back could both believe they hold it; expiry compares
 * the clocks of different machines (keep them in sync; the TTL is long next to any skew); a holder that stops
 * renewing loses the lease after `ttlMs`, and its work must check `renew()` before each destructive batch.
 */
export async function acquireStoreLease(options: {
  s3: S3Client;
  store: Pick<ObjectStoreConfig, 'bucket' | 'prefix' | 'endpoint'>;
  name: string;
  owner: string;
  purpose: string;
  ttlMs?: number;
  settleMs?: number;
  now?: () => number;
}): Promise<StoreLease> {
  const { s3, store } = options;
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? 10 * 60_000;
  const settleMs = options.settleMs ?? 1_000;
  const key = leaseKey(store, options.name);
  const where = `s3://${store.bucket}/${key}`;

  const read = async (): Promise<{ record: LeaseRecord; etag?: string } | undefined> => {
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
      const record = JSON.parse(await got.Body!.transformToString()) as LeaseRecord;
      return { record, ...(got.ETag ? { etag: got.ETag } : {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (err instanceof SyntaxError) return undefined; // a torn or foreign object: treated as no lease
      throw err;
    }
  };
  const held = (r: LeaseRecord) =>
    new PachbackupError('conflict', `the backup store is leased for ${r.purpose} by ${r.owner} until ${r.expiresAt} (${where})`, {
      retryable: true,
      hint: `wait for it to finish; a holder that died loses the lease at ${r.expiresAt}`,
    });
  const write = async (record: LeaseRecord, condition: { IfNoneMatch?: string; IfMatch?: string }) => {
    try {
      await s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: JSON.stringify(record), ContentType: 'application/json', ...condition }));
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || status === 409) {
        const current = await read();
        throw current ? held(current.record) : new PachbackupError('conflict', `another holder took ${where} at the same moment`, { retryable: true });
      }
      throw err;
    }
  };

  const existing = await read();
  if (existing && Date.parse(existing.record.expiresAt) > now()) throw held(existing.record);
  let record: LeaseRecord = {
    owner: options.owner,
    token: randomUUID(),
    acquiredAt: new Date(now()).toISOString(),
    expiresAt: new Date(now() + ttlMs).toISOString(),
    purpose: options.purpose,
  };
  await write(record, existing?.etag ? { IfMatch: existing.etag } : { IfNoneMatch: '*' });
  await sleep(settleMs);
  const confirmed = await read();
  if (!confirmed || confirmed.record.token !== record.token) {
    if (confirmed) throw held(confirmed.record);
    throw new PachbackupError('conflict', `the lease ${where} vanished while it was being taken`, { retryable: true });
  }

  return {
    get record() {
      return record;
    },
    async renew() {
      const current = await read();
      if (!current || current.record.token !== record.token) throw current ? held(current.record) : new PachbackupError('conflict', `the lease ${where} is gone: it expired or was removed`);
      const renewed = { ...record, expiresAt: new Date(now() + ttlMs).toISOString() };
      await write(renewed, current.etag ? { IfMatch: current.etag } : {});
      record = renewed;
    },
    async release() {
      const current = await read().catch(() => undefined);
      if (current?.record.token === record.token) await s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: key }));
    },
  };
}
