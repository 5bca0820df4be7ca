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
