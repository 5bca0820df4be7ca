import type { S3Client } from '@aws-sdk/client-s3';
import { PachbackupError } from '../errors.js';
import { linkAbort } from './abort-link.js';
import { sendListObjectsV2, type ListingPage } from './listing-page.js';
import { describeKeyRange, isBeforeKeyRange, isPastKeyRange, type KeyRange } from './key-ranges.js';
import { unquoteEtag } from './pool-keys.js';
import { toStoreError } from './store-error.js';

/** One object of a listing, its key relative to the listed prefix. */
export interface ListedObject {
  key: string;
  size: number;
  /** Unquoted; '' when the store gave none. */
  etag: string;
  lastModified: Date | undefined;
}

/** How to list. */
export interface ListObjectsOptions {
  signal?: AbortSignal;
  /** Keys per ListObjectsV2 page (S3's maximum and default: 1000). */
  pageSize?: number;
  /**
   * Only the keys (relative to the prefix) in this range: the listing starts after `range.after` (StartAfter,
   * so nothing before it is sent) and stops at the first key past `range.through`. Default: every key.
   */
  range?: KeyRange;
  /**
   * About how many keys the listing (its range) holds — from an earlier listing of it, or an estimate. Pages ask
   * for no more than the keys still expected plus a margin, so a range far smaller than a page is not sent a
   * page of keys past its end (the store reads, and the client parses, every key it sends). Once as many keys as
   * expected have come, pages are full again: a wrong guess costs at most one more request, never a key.
   */
  expectedKeys?: number;
}

/** Keys a page asks for beyond those still expected: what may have arrived since the expectation was formed. */
function expectationMargin(expected: number): number {
  return Math.ceil(expected / 20) + 10;
}

/**
 * Streams every object under `prefix` in `bucket`, in the store's order (ascending UTF-8 for S3), page by page:
 * at most two pages are held at a time — the one being consumed and the next, requested as soon as the
 * current one arrives so the consumer's work overlaps the store's latency. `prefix` is a raw key prefix
 * ('' or ending in '/'); keys come back relative to it. With `range`, only that slice of the keys is requested
 * (several ranges listed side by side cover a bucket in parallel). Stopping early, or an aborted signal, cancels the
 * outstanding request. Errors are PachbackupErrors ('cancelled', 'not-found', 'forbidden', 'unavailable').
 */
export async function* listObjects(s3: S3Client, bucket: string, prefix: string, options: ListObjectsOptions = {}): AsyncGenerator<ListedObject> {
  const link = linkAbort(options.signal);
  const range = options.range ?? {};
  const where = `listing s3://${bucket}/${prefix}${options.range ? ` (${describeKeyRange(range)})` : ''}`;
  const startAfter = range.after === undefined ? undefined : prefix + range.after;
  const pageSize = options.pageSize ?? 1000;
  const expected = options.expectedKeys;
  let received = 0;
  const nextPageSize = () => (expected !== undefined && (received === 0 || received < expected) ? Math.min(pageSize, expected - received + expectationMargin(expected)) : options.pageSize);
  const fetchPage = (token: string | undefined): Promise<ListingPage> =>
    sendListObjectsV2(
      s3,
      {
        Bucket: bucket,
        Prefix: prefix === '' ? undefined : prefix,
        ContinuationToken: token,
        // S3 ignores StartAfter once a continuation token is given; it is only needed on the first page.
        StartAfter: token === undefined ? startAfter : undefined,
        MaxKeys: nextPageSize(),
      },
      { abortSignal: link.signal },
    ).catch((err: unknown) => {
        throw toStoreError(err, where, options.signal);
      });

  let pending = fetchPage(undefined);
  try {
    for (;;) {
      const { output: page, objects } = await pending;
      received += objects.length;
      const token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) {
        throw new PachbackupError('integrity', `${where}: the store said the listing continues but gave no continuation token`);
      }
      const lastKey = objects.at(-1)?.key;
      const rangeEnds = lastKey !== undefined && lastKey.startsWith(prefix) && isPastKeyRange(lastKey.slice(prefix.length), range);
      if (token !== undefined && !rangeEnds) {
        pending = fetchPage(token);
        // Handled when awaited; this only keeps an abandoned prefetch from being an unhandled rejection.
        pending.catch(() => undefined);
      }
      for (const object of objects) {
        const { key } = object;
        if (!key.startsWith(prefix)) {
          throw new PachbackupError('integrity', `${where}: the store returned ${JSON.stringify(key)}, which is outside the prefix`);
        }
        const relative = key.slice(prefix.length);
        if (isPastKeyRange(relative, range)) return;
        if (isBeforeKeyRange(relative, range)) {
          throw new PachbackupError('integrity', `${where}: the store returned ${JSON.stringify(key)}, which is before the range's start`, {
            hint: 'the store does not honour ListObjectsV2 StartAfter; a range listing from it would repeat keys',
          });
        }
        yield { key: relative, size: object.size, etag: unquoteEtag(object.etag), lastModified: object.lastModified };
      }
      if (token === undefined) return;
    }
  } finally {
    link.abort();
    link.dispose();
  }
}
