import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import { compareKeys } from '../../src/object-store/key-order.js';
import { describeKeyRange, isInKeyRange, splitKeySpace } from '../../src/object-store/key-ranges.js';

/** Keys shaped like Pachyderm's chunks: `chunk/<sha256>.<generation>`. */
const chunkKeys = (n: number) => Array.from({ length: n }, (_, i) => `chunk/${createHash('sha256').update(String(i)).digest('hex')}.${i.toString(16).padStart(16, '0')}`);

describe('splitKeySpace', () => {
  it('puts every key in exactly one range, including keys outside the folder and the cut points themselves', () => {
    for (const parts of [1, 2, 3, 7, 16, 100, 257]) {
      const ranges = splitKeySpace(parts, 'chunk/');
      expect(ranges).toHaveLength(parts);
      const cuts = ranges.slice(0, -1).map((r) => r.through!);
      const odd = ['', 'a', 'chunk', 'chunk/', 'chunk/.', 'chunk/g', 'chunk/FF', 'test/9b1f', 'zzz', '\u{1F600}', ...cuts, ...cuts.map((c) => `${c}0`)];
      for (const key of [...chunkKeys(500), ...odd]) {
        expect(ranges.filter((r) => isInKeyRange(key, r)), `${key} in ${parts} ranges`).toHaveLength(1);
      }
    }
  });

  it('gives each range about the same share of chunk keys, in ascending order', () => {
    const keys = chunkKeys(40_000);
    const ranges = splitKeySpace(16, 'chunk/');
    const counts = ranges.map((r) => keys.filter((k) => isInKeyRange(k, r)).length);
    for (const c of counts) expect(c).toBeGreaterThan(2500 * 0.85);
    for (const c of counts) expect(c).toBeLessThan(2500 * 1.15);
    for (let i = 1; i < ranges.length - 1; i++) expect(compareKeys(ranges[i]!.after!, ranges[i]!.through!)).toBeLessThan(0);
    expect(ranges[0]).toEqual({ through: 'chunk/1' });
    expect(ranges[15]).toEqual({ after: 'chunk/f' });
  });

  it('is the whole key space as one range, and refuses nonsense', () => {
    expect(splitKeySpace(1)).toEqual([{}]);
    expect(describeKeyRange({})).toBe('all keys');
    expect(describeKeyRange(splitKeySpace(4, 'chunk/')[1]!)).toBe('chunk/4 < key ≤ chunk/8');
    for (const bad of [0, -1, 1.5, 5000]) expect(() => splitKeySpace(bad)).toThrow(PachbackupError);
  });
});
