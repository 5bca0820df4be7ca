import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../src/object-store/key-order.js';
import { DEFAULT_FAN_OUT, estimateKeyCount, planRanges } from '../../src/fan-out/plan-ranges.js';

/** A bucket's listing of `n` Pachyderm-shaped chunk keys, in S3's order. */
async function* chunkListing(n: number) {
  const keys = Array.from({ length: n }, (_, i) => `chunk/${createHash('sha256').update(`chunk ${i}`).digest('hex')}.${i.toString(16).padStart(16, '0')}`).sort(compareKeys);
  for (const key of keys) yield { key };
}

describe('how a copy is split', () => {
  it('counts a small bucket exactly and estimates a large one from its first keys, within a few percent', async () => {
    expect(await estimateKeyCount(chunkListing(700), 1000)).toEqual({ count: 700, exact: true });
    for (const n of [20_000, 200_000]) {
      const { count, exact } = await estimateKeyCount(chunkListing(n), 1000);
      expect(exact).toBe(false);
      expect(Math.abs(count - n) / n).toBeLessThan(0.12);
    }
  });

  it('says "at least" what it read when the keys are not chunk-shaped', async () => {
    async function* other() {
      for (let i = 0; i < 5000; i++) yield { key: `data/${String(i).padStart(6, '0')}` };
    }
    expect(await estimateKeyCount(other(), 1000)).toEqual({ count: 1000, exact: false });
  });

  it('keeps small copies whole, cuts large ones by size, and gives every worker ranges without making tiny ones', () => {
    expect(planRanges(9_999, DEFAULT_FAN_OUT, 8)).toBeUndefined();
    expect(planRanges(10_000, DEFAULT_FAN_OUT, 1)).toHaveLength(2);
    expect(planRanges(200_000, DEFAULT_FAN_OUT, 1)).toHaveLength(20);
    // Three workers taking four ranges each: twice their slots, so none idles while a slow range finishes.
    expect(planRanges(200_000, DEFAULT_FAN_OUT, 12)).toHaveLength(24);
    // ... but never ranges under a thousand objects.
    expect(planRanges(20_000, DEFAULT_FAN_OUT, 64)).toHaveLength(20);
    expect(planRanges(50_000_000, DEFAULT_FAN_OUT, 12)).toHaveLength(256);
  });
});
