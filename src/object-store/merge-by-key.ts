import { PachbackupError } from '../errors.js';
import { checkAscending, compareKeys } from './key-order.js';

/** Anything with an object key: a listed object, an inventory entry. */
export interface Keyed {
  key: string;
}

/** One entry of the left listing and the right entry with the same key, when the right listing has one. */
export interface MergedEntry<L, R> {
  left: L;
  right: R | undefined;
}

/** What each side is called in errors ("cluster bucket listing", "inventory", ...). */
export interface MergeSideNames {
  left: string;
  right: string;
}

/**
 * Walks two sequences sorted by key (in `compareKeys` order, as S3 lists them) side by side and yields every
 * left entry, in order, with the right entry of the same key if there is one — one pass over each, holding
 * one entry of each at a time, so memory stays flat however long the listings are. Right entries with no
 * left partner are passed over.
 *
 * Both sides are checked to be strictly ascending as they are read: an entry out of order or repeated throws
 * PachbackupError 'integrity' naming the side, because merging an unsorted listing would report objects that
 * are present as missing (copying them again, or worse, reporting a good backup as broken). Stopping early
 * (break, return, throw) closes both iterators.
 */
export async function* mergeByKey<L extends Keyed, R extends Keyed>(
  left: AsyncIterable<L>,
  right: AsyncIterable<R>,
  names: MergeSideNames = { left: 'left listing', right: 'right listing' },
): AsyncGenerator<MergedEntry<L, R>> {
  const rightIterator = right[Symbol.asyncIterator]();
  let current: R | undefined;
  let rightDone = false;
  let previousRight: string | undefined;
  let previousLeft: string | undefined;

  const advanceRight = async (): Promise<void> => {
    const next = await rightIterator.next();
    if (next.done) {
      rightDone = true;
      current = undefined;
      return;
    }
    checkAscending(previousRight, next.value.key, names.right);
    previousRight = next.value.key;
    current = next.value;
  };

  try {
    await advanceRight();
    for await (const entry of left) {
      checkAscending(previousLeft, entry.key, names.left);
      previousLeft = entry.key;
      while (!rightDone && current !== undefined && compareKeys(current.key, entry.key) < 0) await advanceRight();
      const match = current !== undefined && current.key === entry.key ? current : undefined;
      yield { left: entry, right: match };
    }
  } finally {
    if (!rightDone) await rightIterator.return?.();
  }
}
