import { PachbackupError } from '../errors.js';
import { checkAscending, compareKeys } from './key-order.js';

/**
 * A contiguous slice of an object key space in S3's listing order (`compareKeys`): the keys k with
 * `after < k ≤ through`. A missing bound is open, so `{}` is every key. The exclusive lower bound is what
 * ListObjectsV2's `StartAfter` takes, which is why ranges are half-open on that side.
 */
export interface KeyRange {
  /** Keys strictly after this one; undefined: from the first key. */
  after?: string;
  /** Keys up to and including this one; undefined: to the last key. */
  through?: string;
}

/**
 * Where Pachyderm keeps its data in the bucket: `chunk/<hex chunk id>.<generation>`, ids being hashes of the
 * chunks' bytes and so spread evenly over hex prefixes (PACHYDERM.md, "Object store layout"; Pachyderm's
 * src/internal/storage/chunk/client.go): the folder under which the key space is cut.
 */
export const CHUNK_FOLDER = 'chunk/';

/** The whole key space. */
export const ALL_KEYS: KeyRange = Object.freeze({});

/** The most ranges `splitKeySpace` makes (16³ hex slots: each range still spans whole 3-digit prefixes). */
export const MAX_KEY_RANGES = 4096;

/** True when `key` falls in `range`. */
export function isInKeyRange(key: string, range: KeyRange): boolean {
  if (range.after !== undefined && compareKeys(key, range.after) <= 0) return false;
  return range.through === undefined || compareKeys(key, range.through) <= 0;
}

/** True when every key of `range` comes after `key` (the listing of the range has not reached it yet). */
export function isBeforeKeyRange(key: string, range: KeyRange): boolean {
  return range.after !== undefined && compareKeys(key, range.after) <= 0;
}

/** True when every key of `range` comes before `key` (a listing in key order can stop here). */
export function isPastKeyRange(key: string, range: KeyRange): boolean {
  return range.through !== undefined && compareKeys(key, range.through) > 0;
}

/**
 * Splits the key space into `parts` disjoint ranges that together hold every key, cut at hex prefixes under
 * `folder` so that keys `<folder><hex…>` spread about evenly over them. That is the shape of Pachyderm's
 * object keys — `chunk/<hash of the chunk>.<generation>` (PACHYDERM.md, "Object store layout") — whose hashes
 * are uniform, so each range gets about `1/parts` of the objects without anything being listed first. Keys
 * outside `folder` are still covered: those sorting before it fall in the first range, the rest in the last.
 * Cuts are multiples of 1/4096 of the hex space (three digits), so ranges differ by at most one such slot.
 */
export function splitKeySpace(parts: number, folder = ''): KeyRange[] {
  if (!Number.isInteger(parts) || parts < 1 || parts > MAX_KEY_RANGES) {
    throw new PachbackupError('internal', `cannot split the key space into ${parts} ranges`, { hint: `use between 1 and ${MAX_KEY_RANGES} ranges` });
  }
  const slots = 16 ** 3;
  const cuts: string[] = [];
  for (let i = 1; i < parts; i++) {
    const slot = Math.floor((i * slots) / parts);
    cuts.push(`${folder}${slot.toString(16).padStart(3, '0').replace(/0+$/, '') || '0'}`);
  }
  return Array.from({ length: parts }, (_, i) => ({
    ...(i > 0 ? { after: cuts[i - 1] } : {}),
    ...(i < parts - 1 ? { through: cuts[i] } : {}),
  }));
}

/** The range for messages and logs: "keys ≤ chunk/4", "chunk/4 < key ≤ chunk/8", "keys > chunk/c", "all keys". */
export function describeKeyRange(range: KeyRange): string {
  if (range.after === undefined && range.through === undefined) return 'all keys';
  if (range.after === undefined) return `keys ≤ ${range.through}`;
  if (range.through === undefined) return `keys > ${range.after}`;
  return `${range.after} < key ≤ ${range.through}`;
}

/**
 * The entries of a key-sorted sequence (an inventory) that fall in `range`, read from the start and left as soon as
 * one is past the range. Every entry read is checked to be in ascending order (PachbackupError 'integrity'
 * naming `side` otherwise), so skipping entries never hides a badly sorted file.
 */
export async function* entriesInKeyRange<T extends { key: string }>(entries: AsyncIterable<T>, range: KeyRange, side: string): AsyncGenerator<T> {
  let previous: string | undefined;
  for await (const entry of entries) {
    checkAscending(previous, entry.key, side);
    previous = entry.key;
    if (isPastKeyRange(entry.key, range)) return;
    if (!isBeforeKeyRange(entry.key, range)) yield entry;
  }
}
