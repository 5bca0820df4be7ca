import { CHUNK_FOLDER, splitKeySpace, type KeyRange } from '../object-store/key-ranges.js';

/** When and how finely a copy is split (a cluster's `backup.fanOut`). */
export interface FanOutSettings {
  /** Copies of fewer objects run in one process, unsplit. */
  minObjects: number;
  /** About how many objects each range gets. */
  objectsPerRange: number;
  /** At most this many ranges, however many objects. */
  maxRanges: number;
}

/**
 * The defaults, and why. One range costs a queued job, a state-database check and its own listing start — some
 * tens of milliseconds — while one worker copies several hundred small objects a second with the default copies
 * in flight (measured on s3rver; AWS S3 is in the same range for small objects), so 10,000 objects keep a range
 * busy for tens of seconds: the overhead stays under 1%, a worker that dies loses at most that much, and a copy
 * smaller than one range gains nothing from being split. 256 ranges keep the queue and the sum small even at
 * tens of millions of objects (a restore's ranges each read the inventory up to their end, so more ranges would
 * read it more often).
 */
export const DEFAULT_FAN_OUT: FanOutSettings = { minObjects: 10_000, objectsPerRange: 10_000, maxRanges: 256 };

/** The fewest objects a range is cut to when more ranges would only keep more workers busy: below it, a range's listing start outweighs its copies. */
export const MIN_RANGE_OBJECTS = 1000;

/**
 * Key ranges for a copy of about `objects` objects, or undefined when it is small enough to run unsplit. At least
 * ⌈objects / objectsPerRange⌉ ranges; more, up to twice `capacity` (the ranges that can run at once) so every
 * worker has one and a slow range does not leave the others idle at the end — but none under MIN_RANGE_OBJECTS
 * objects; always at least 2 and at most maxRanges. Cut at hex prefixes under `folder`.
 */
export function planRanges(objects: number, settings: FanOutSettings, capacity = 1, folder = CHUNK_FOLDER): KeyRange[] | undefined {
  if (!(objects >= settings.minObjects)) return undefined;
  const bySize = Math.ceil(objects / settings.objectsPerRange);
  const byCapacity = Math.min(2 * capacity, Math.floor(objects / MIN_RANGE_OBJECTS));
  const parts = Math.min(settings.maxRanges, Math.max(2, bySize, byCapacity));
  return splitKeySpace(parts, folder);
}

/**
 * About how many keys a listing holds, reading at most `limit` of them: the exact count when the listing ends
 * sooner; otherwise an estimate from how far into the hex key space under `folder` the limit-th key lies (keys
 * spread evenly, so if the first 10,000 reach 1/50 of it there are about 500,000), and `limit` when that key is
 * not hex-shaped. Stops reading at `limit` (the listing's iterator is closed), so a small bucket is counted
 * exactly and a large one costs `limit / 1000` list requests.
 */
export async function estimateKeyCount(listing: AsyncIterable<{ key: string }>, limit: number, folder = CHUNK_FOLDER): Promise<{ count: number; exact: boolean }> {
  let count = 0;
  let last: string | undefined;
  for await (const { key } of listing) {
    count += 1;
    last = key;
    if (count >= limit) break;
  }
  if (count < limit || last === undefined) return { count, exact: true };
  const digits = last.startsWith(folder) ? /^[0-9a-f]{1,3}/.exec(last.slice(folder.length))?.[0] : undefined;
  if (!digits) return { count, exact: false };
  // The share of the hex space the keys read so far cover: up to the end of the last key's 3-digit slot.
  const slot = parseInt(digits.padEnd(3, '0'), 16) + 1;
  return { count: Math.max(count, Math.round((count * 4096) / slot)), exact: false };
}
