import { PachbackupError } from '../errors.js';

/**
 * Compares two object keys in the order S3's ListObjectsV2 returns them: ascending by their UTF-8 bytes.
 * UTF-8 byte order is Unicode code-point order, which differs from JavaScript's `<` (UTF-16 code units) only
 * where a character above U+FFFF meets one in U+E000–U+FFFF; those are ranked here as UTF-8 ranks them.
 * Returns a negative number, zero or a positive number, like any comparator.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates (U+D800–U+DFFF, the halves of characters above U+FFFF) above U+E000–U+FFFF. */
function codeUnitRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/**
 * Throws PachbackupError 'integrity' unless `key` comes strictly after `previous` (the key read before it from
 * the sequence called `side`): anything merged or split by key assumes S3's order, and deciding from an
 * unsorted sequence would report objects that are present as missing.
 */
export function checkAscending(previous: string | undefined, key: string, side: string): void {
  if (previous === undefined || compareKeys(previous, key) < 0) return;
  const what = previous === key ? 'repeats' : 'is out of order after';
  throw new PachbackupError('integrity', `the ${side} is not sorted by key: ${JSON.stringify(key)} ${what} ${JSON.stringify(previous)}`, {
    hint: 'S3 lists keys in ascending UTF-8 order; a store that does not cannot be merged safely, so nothing was decided from it',
  });
}
