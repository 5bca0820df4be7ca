import type { ObjectStoreConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';

/**
 * Where objects live in the backup store. `<prefix>/objects/<key>` is the pool shared by every backup of a
 * cluster: Pachyderm's keys are content-addressed and never overwritten, so a key copied once serves every later
 * backup. When the pool already holds different bytes under a key (a different size), the newer bytes go to
 * `<prefix>/objects/.versions/<etag>/<key>` and the older ones stay untouched.
 *
 * A cluster key that itself begins with `.versions/` (Pachyderm writes none: its keys are `chunk/…` and
 * `test/…`) would land inside the conflict area, so such keys are always stored at their conflict location;
 * that keeps every store key parseable back to exactly one cluster key.
 */
export const POOL_FOLDER = 'objects';
/** The folder, inside the pool, of conflict locations. */
export const CONFLICT_FOLDER = '.versions';

/** The store's own prefix as a key prefix: '' or 'a/b/'. */
export function storeKeyPrefix(store: Pick<ObjectStoreConfig, 'prefix'>): string {
  return store.prefix === '' ? '' : `${store.prefix}/`;
}

/** The key prefix of the pool: `<prefix>/objects/`. Listing it yields pool-relative keys. */
export function poolPrefix(store: Pick<ObjectStoreConfig, 'prefix'>): string {
  return `${storeKeyPrefix(store)}${POOL_FOLDER}/`;
}

/** True when a pool-relative key (or a cluster key) falls inside the conflict area. */
export function isInConflictArea(relativeKey: string): boolean {
  return relativeKey.startsWith(`${CONFLICT_FOLDER}/`);
}

/** The pool key of a cluster object: `<prefix>/objects/<key>`. */
export function poolKey(store: Pick<ObjectStoreConfig, 'prefix'>, key: string): string {
  return `${poolPrefix(store)}${key}`;
}

/**
 * The conflict location of a cluster object whose key is taken in the pool by other bytes:
 * `<prefix>/objects/.versions/<etag>/<key>`, the ETag unquoted and URL-encoded into one path segment.
 * Throws 'integrity' when the store gave no ETag: without one, two versions could not be told apart.
 */
export function conflictKey(store: Pick<ObjectStoreConfig, 'prefix'>, key: string, etag: string): string {
  const bare = unquoteEtag(etag);
  if (bare === '') {
    throw new PachbackupError('integrity', `object ${JSON.stringify(key)} differs from the pool's copy and its store gave no ETag to file it under`, {
      hint: 'the cluster object store must return ETags in listings (every S3-compatible store does)',
    });
  }
  return `${poolPrefix(store)}${CONFLICT_FOLDER}/${encodeURIComponent(bare)}/${key}`;
}

/** What a backup-store key holds: a cluster key in the pool, at a conflict location, or neither (undefined). */
export type StoreKeyLocation = { kind: 'pool'; key: string } | { kind: 'conflict'; key: string; etag: string };

/** Parses a key of the backup store back into the cluster key it holds (inverse of poolKey and conflictKey). */
export function parseStoreKey(store: Pick<ObjectStoreConfig, 'prefix'>, storeKey: string): StoreKeyLocation | undefined {
  const prefix = poolPrefix(store);
  if (!storeKey.startsWith(prefix)) return undefined;
  const relative = storeKey.slice(prefix.length);
  if (relative === '') return undefined;
  if (!isInConflictArea(relative)) return { kind: 'pool', key: relative };
  const rest = relative.slice(CONFLICT_FOLDER.length + 1);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  try {
    return { kind: 'conflict', etag: decodeURIComponent(rest.slice(0, slash)), key: rest.slice(slash + 1) };
  } catch {
    return undefined;
  }
}

/** An ETag without the double quotes S3 puts around it (and without a weak-validator `W/`). */
export function unquoteEtag(etag: string | undefined): string {
  if (!etag) return '';
  const bare = etag.startsWith('W/') ? etag.slice(2) : etag;
  return bare.length >= 2 && bare.startsWith('"') && bare.endsWith('"') ? bare.slice(1, -1) : bare;
}
