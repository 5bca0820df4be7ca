import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../config/config.js';
import { describeError } from '../errors.js';
import { storeKeyPrefix } from '../object-store/pool-keys.js';
import { isNotFound } from '../object-store/store-error.js';

/**
 * Whether two configurations name the same thing, as the systems themselves answer it: `same` and `different`
 * are facts (a marker was found or not, identifiers compared), `unknown` means the question could not be asked
 * (a store or server unreachable, a permission missing) and says why in `how`.
 */
export interface Sameness {
  verdict: 'same' | 'different' | 'unknown';
  /** How it was decided, for messages: "same endpoint spelling", "marker … found through the second", … */
  how: string;
}

/** One bucket as a configuration reaches it: its settings and a client made from them. */
export interface BucketAccess {
  store: Pick<ObjectStoreConfig, 'bucket' | 'endpoint' | 'region'> & Partial<Pick<ObjectStoreConfig, 'prefix'>>;
  s3: S3Client;
}

/**
 * The S3 service an endpoint names, in one spelling: scheme, lower-case host without a trailing dot, and explicit
 * port; every AWS S3 endpoint of a partition (the default endpoint of any region, `s3.amazonaws.com`,
 * `s3.<region>.amazonaws.com`, `s3-<region>.amazonaws.com`, dual-stack) is the partition itself — bucket names
 * are unique across a whole partition. Spelling only: `localhost` and `127.0.0.1` stay different here, and only
 * asking the store (see `sameBucket`) tells that they are one.
 */
export function canonicalEndpoint(store: Pick<ObjectStoreConfig, 'endpoint' | 'region'>): string {
  if (!store.endpoint) return awsPartition(store.region);
  if (!URL.canParse(store.endpoint)) return store.endpoint.trim().toLowerCase();
  const url = new URL(store.endpoint);
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const aws = /^(?:[a-z0-9.-]+\.)?s3(?:[.-]dualstack)?(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(\.cn)?$/.exec(host);
  if (aws) return aws[2] ? 'aws-cn' : awsPartition(aws[1] ?? 'us-east-1');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.protocol}//${host}:${port}`;
}

function awsPartition(region: string | undefined): string {
  const r = (region ?? 'us-east-1').toLowerCase();
  return r.startsWith('cn-') ? 'aws-cn' : r.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/** Same bucket by spelling alone (the first pass): same bucket name on the same canonical endpoint. */
export function sameBucketSpelling(a: Pick<ObjectStoreConfig, 'bucket' | 'endpoint' | 'region'>, b: Pick<ObjectStoreConfig, 'bucket' | 'endpoint' | 'region'>): boolean {
  return a.bucket === b.bucket && canonicalEndpoint(a) === canonicalEndpoint(b);
}

/** The folder identity markers are written under, beside the key prefix given. */
export const IDENTITY_MARKER_FOLDER = '.pachbackup-identity-check';

/**
 * Whether `a` and `b` reach the same bucket. Different bucket names are different buckets; the same name on the
 * same canonical endpoint is the same bucket. Otherwise the stores are asked: a tiny marker object
 * (`<markerPrefix>/.pachbackup-identity-check/<uuid>`, a few bytes saying what it is) is written through `a` —
 * so `a` should be a bucket pachbackup writes to anyway (a backup store, a restore target) — looked for through
 * `b`, and deleted again whatever the answer. Found: the same bucket; not found: different; `b` refusing or
 * unreachable: unknown.
 */
export async function sameBucket(a: BucketAccess, b: BucketAccess, options: { markerPrefix?: string; signal?: AbortSignal } = {}): Promise<Sameness> {
  if (a.store.bucket !== b.store.bucket) return { verdict: 'different', how: 'different bucket names' };
  if (canonicalEndpoint(a.store) === canonicalEndpoint(b.store)) return { verdict: 'same', how: `the same bucket on ${canonicalEndpoint(a.store)}` };
  const prefix = (options.markerPrefix ?? '').replace(/^\/+|\/+$/g, '');
  const key = `${prefix ? `${prefix}/` : ''}${IDENTITY_MARKER_FOLDER}/${randomUUID()}`;
  const where = (s: BucketAccess['store']) => `s3://${s.bucket}${s.endpoint ? ` at ${s.endpoint}` : ''}`;
  const abortSignal = options.signal;
  try {
    await a.s3.send(new PutObjectCommand({ Bucket: a.store.bucket, Key: key, Body: 'pachbackup: is this the same bucket? Deleted after the check.\n', ContentType: 'text/plain' }), { abortSignal });
  } catch (err) {
    return { verdict: 'unknown', how: `could not write an identity marker into ${where(a.store)}: ${describeError(err)}` };
  }
  try {
    await b.s3.send(new HeadObjectCommand({ Bucket: b.store.bucket, Key: key }), { abortSignal });
    return { verdict: 'same', how: `a marker written to ${where(a.store)} was found at ${where(b.store)}` };
  } catch (err) {
    if (isNotFound(err)) return { verdict: 'different', how: `a marker written to ${where(a.store)} is not at ${where(b.store)}` };
    return { verdict: 'unknown', how: `could not look for an identity marker at ${where(b.store)}: ${describeError(err)}` };
  } finally {
    await a.s3.send(new DeleteObjectCommand({ Bucket: a.store.bucket, Key: key })).catch(() => undefined);
  }
}

/**
 * Whether two (bucket, key prefix) areas share keys: prefixes one inside the other, in the same bucket as the
 * stores answer it (see `sameBucket`; the marker is written through `a`, under its prefix).
 */
export async function overlappingAreas(a: BucketAccess, b: BucketAccess, options: { signal?: AbortSignal } = {}): Promise<Sameness> {
  const pa = storeKeyPrefix({ prefix: a.store.prefix ?? '' });
  const pb = storeKeyPrefix({ prefix: b.store.prefix ?? '' });
  if (!pa.startsWith(pb) && !pb.startsWith(pa)) return { verdict: 'different', how: `separate key prefixes ("${pa}", "${pb}")` };
  return sameBucket(a, b, { markerPrefix: a.store.prefix ?? '', ...(options.signal ? { signal: options.signal } : {}) });
}
