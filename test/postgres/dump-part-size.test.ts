import { describe, expect, it } from 'vitest';
import { dumpPartSize } from '../../src/postgres/dump-database.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('dumpPartSize', () => {
  it('keeps small and large databases at 8 MiB parts, so the upload holds about 24 MiB whatever the size', () => {
    expect(dumpPartSize(0)).toBe(8 * MiB);
    expect(dumpPartSize(50 * MiB)).toBe(8 * MiB);
    expect(dumpPartSize(1 * GiB)).toBe(8 * MiB);
    expect(dumpPartSize(39 * GiB)).toBe(8 * MiB);
  });

  it('grows the parts only where a dump up to twice the database would not fit in S3\'s 10,000 parts', () => {
    for (const size of [40 * GiB, 200 * GiB, 1024 * GiB, 5000 * GiB]) {
      const part = dumpPartSize(size);
      expect(part % MiB).toBe(0);
      expect(Math.ceil((2 * size) / part)).toBeLessThanOrEqual(10_000);
      expect(part).toBeGreaterThan(8 * MiB);
    }
  });

  it("never asks for a part larger than S3's 5 GiB, however large the database says it is", () => {
    for (const size of [30_000 * GiB, 1024 * 1024 * GiB, Number.MAX_SAFE_INTEGER]) expect(dumpPartSize(size)).toBe(5 * GiB);
  });
});
