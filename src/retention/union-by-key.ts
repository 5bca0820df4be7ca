import { compareKeys } from '../object-store/key-order.js';
import type { Keyed } from '../object-store/merge-by-key.js';

/**
 * The keys present in any of several ascending sequences, ascending and each once — a k-way merge holding one
 * entry per sequence, so memory stays flat however long they are.
 */
export async function* unionKeys(sequences: AsyncIterable<Keyed>[]): AsyncGenerator<Keyed> {
  const iterators = sequences.map((s) => s[Symbol.asyncIterator]());
  const heads: (Keyed | undefined)[] = await Promise.all(iterators.map(async (it) => (await it.next()).value as Keyed | undefined));
  let last: string | undefined;
  try {
    for (;;) {
      let min: number | undefined;
      for (const [i, head] of heads.entries()) {
        if (head && (min === undefined || compareKeys(head.key, heads[min]!.key) < 0)) min = i;
      }
      if (min === undefined) return;
      const key = heads[min]!.key;
      if (key !== last) yield { key };
      last = key;
      const next = await iterators[min]!.next();
      heads[min] = next.done ? undefined : (next.value as Keyed);
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}
