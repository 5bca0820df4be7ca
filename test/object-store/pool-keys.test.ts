import { describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { canCopyServerSide, partSizeFor } from '../../src/object-store/copy-object.js';
import { conflictKey, parseStoreKey, poolKey, unquoteEtag } from '../../src/object-store/pool-keys.js';
import type { ObjectStoreConfig } from '../../src/config/config.js';

const root = { prefix: '' };
const nested = { prefix: 'backups/prod' };

describe('pool keys', () => {
  it('puts objects under <prefix>/objects/ and conflicts under objects/.versions/<etag>/', () => {
    expect(poolKey(root, 'chunk/ab.01')).toBe('objects/chunk/ab.01');
    expect(poolKey(nested, 'chunk/ab.01')).toBe('backups/prod/objects/chunk/ab.01');
    expect(conflictKey(nested, 'chunk/ab.01', '"d41d8cd98f00b204e9800998ecf8427e"')).toBe(
      'backups/prod/objects/.versions/d41d8cd98f00b204e9800998ecf8427e/chunk/ab.01',
    );
  });

  it('parses store keys back to the cluster key they hold', () => {
    expect(parseStoreKey(nested, poolKey(nested, 'chunk/x'))).toEqual({ kind: 'pool', key: 'chunk/x' });
    expect(parseStoreKey(nested, conflictKey(nested, 'chunk/x', 'abc-2'))).toEqual({ kind: 'conflict', key: 'chunk/x', etag: 'abc-2' });
    // An ETag with characters that cannot go in a path segment survives the round trip.
    expect(parseStoreKey(root, conflictKey(root, 'k', 'a/b c'))).toEqual({ kind: 'conflict', key: 'k', etag: 'a/b c' });
    // A cluster key inside the conflict area is always filed by ETag, so it parses back unambiguously.
    expect(parseStoreKey(root, conflictKey(root, '.versions/x', 'e1'))).toEqual({ kind: 'conflict', key: '.versions/x', etag: 'e1' });
    expect(parseStoreKey(nested, 'backups/prod/backups/c/1/manifest.json')).toBeUndefined();
    expect(parseStoreKey(nested, 'elsewhere/objects/chunk/x')).toBeUndefined();
  });

  it('refuses to file a conflict without an ETag', () => {
    expect(() => conflictKey(root, 'k', '')).toThrow(PachbackupError);
  });

  it('unquotes ETags', () => {
    expect(unquoteEtag('"abc"')).toBe('abc');
    expect(unquoteEtag('W/"abc"')).toBe('abc');
    expect(unquoteEtag('abc-3')).toBe('abc-3');
    expect(unquoteEtag(undefined)).toBe('');
  });
});

describe('copy planning', () => {
  const store = (over: Partial<ObjectStoreConfig>): ObjectStoreConfig => ({ region: 'us-east-1', bucket: 'b', prefix: '', forcePathStyle: false, ...over });
  const keys = { accessKeyId: 'A', secretAccessKey: 'S' };

  it('copies server-side only when one store can read the other with the same credentials', () => {
    expect(canCopyServerSide(store({}), store({}))).toBe(true);
    expect(canCopyServerSide(store({}), store({ region: 'eu-west-1' }))).toBe(false);
    expect(canCopyServerSide(store({ endpoint: 'http://127.0.0.1:9000', credentials: keys }), store({ endpoint: 'http://127.0.0.1:9000/', credentials: keys }))).toBe(true);
    expect(canCopyServerSide(store({ endpoint: 'http://127.0.0.1:9000', credentials: keys }), store({ endpoint: 'http://127.0.0.1:9001', credentials: keys }))).toBe(false);
    expect(canCopyServerSide(store({ endpoint: 'http://127.0.0.1:9000', credentials: keys }), store({ endpoint: 'http://127.0.0.1:9000', credentials: { ...keys, secretAccessKey: 'T' } }))).toBe(false);
    expect(canCopyServerSide(store({ endpoint: 'http://minio:9000' }), store({}))).toBe(false);
  });

  it('raises the part size so no object needs more than 10,000 parts', () => {
    const mib = 1024 * 1024;
    expect(partSizeFor(100 * mib, 8 * mib)).toBe(8 * mib);
    const huge = 5 * 1024 * 1024 * mib; // 5 TiB, S3's largest object
    expect(Math.ceil(huge / partSizeFor(huge, 64 * mib))).toBeLessThanOrEqual(10_000);
  });
});
