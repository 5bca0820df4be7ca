import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../../src/sandbox/services/key-index.js';

describe("the sandbox S3 server's key index", () => {
  it('lists, after any mix of puts and deletes, exactly the keys present, in order', () => {
    // A seeded generator, so a failure repeats.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const keyOf = (i: number) => `chunk/${(i * 2654435761 % 4096).toString(16).padStart(4, '0')}`;
    const model = new Set(Array.from({ length: 300 }, (_, i) => keyOf(i)));
    const index = new KeyIndex([...model]);
    for (let round = 0; round < 200; round++) {
      // Several writes between listings, a key sometimes written twice (put then delete, delete then put).
      for (let w = random(40); w >= 0; w--) {
        const key = keyOf(random(600));
        if (random(3) === 0) {
          index.remove(key);
          model.delete(key);
        } else {
          index.add(key);
          model.add(key);
        }
      }
      expect(index.keys()).toEqual([...model].sort());
    }
  });

  it('leaves a listing already handed out as it was', () => {
    const index = new KeyIndex(['b', 'a']);
    const before = index.keys();
    index.add('c');
    index.remove('a');
    expect(before).toEqual(['a', 'b']);
    expect(index.keys()).toEqual(['b', 'c']);
  });
});
