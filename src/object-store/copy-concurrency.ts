/**
 * Objects one process copies at once for a cluster by default (`backup.copyConcurrency`), whichever of its key
 * ranges they belong to.
 *
 * Why 16: on the sandbox's s3rver (`npm run bench:copy`, 1 KiB objects, server-side CopyObject) the store copies
 * no faster with 128 requests in flight than with 8 — its probes gave 341–356/s at 8 and 16, 178–376/s at 32 to
 * 128 on a shared machine — because it is one Node process, busy on its one core from about 8 on; more requests
 * only queue there. (On a quiet machine it did better with more in flight: 306/s at 8, 365/s at 16, 483/s at 64 —
 * so the default is not settled; see README, "Benchmarks".) 16 is twice that, so a store further away than loopback (AWS S3 answers a CopyObject in tens
 * of milliseconds, not one) still has work waiting while answers travel. More workers add 16 each. Until this
 * was a per-process cap it was per key range, and a worker running four ranges put 64 copies on the store, three
 * workers 192, without copying faster.
 */
export const DEFAULT_COPY_CONCURRENCY = 16;
