/**
 * Objects one process copies at once for a cluster by default (`backup.copyConcurrency`), whichever of its key
 * ranges they belong to.
 *
 * Why 64: a server-side CopyObject holds no bytes in the worker, so what bounds it is how many requests the store
 * works on at once. A store further away than loopback (AWS S3 answers a CopyObject in tens of milliseconds)
 * copies about copies-in-flight ÷ latency objects a second — 16 in flight at 30 ms is 530 a second, hours for
 * millions of chunks — and S3 takes thousands of requests a second per prefix. Even the sandbox's s3rver (one Node
 * process) copies faster with more in flight once its files are in memory (`npm run bench:copy`, 20,000 objects on
 * tmpfs: raw CopyObject probes 8→656/s, 16→851/s, 64→1079/s, 128→1159/s; pachbackup with one worker 26.0 s at 16,
 * 24.3 s at 32, 22.8 s at 64). Earlier runs with s3rver's files on this machine's disk said 8–16 was as good as
 * anything: the disk's own speed swung 2× between identical runs and hid the difference. Streamed copies (between
 * endpoints) are capped apart, at DEFAULT_MAX_STREAMS. More workers add 64 each.
 */
export const DEFAULT_COPY_CONCURRENCY = 64;
