/**
 * Preloaded into the copy bench's worker processes (`node --require bench/memory-probe.cjs`): samples
 * process.memoryUsage() every 200 ms and keeps the sample with the highest RSS in
 * `$PACHBACKUP_MEMORY_PROBE.<pid>.json`, so the bench can say what the peak was made of (JavaScript heap,
 * buffers outside it, or neither: native memory such as zlib's and the allocator's). Not part of the product.
 */
const { writeFileSync } = require('node:fs');

const prefix = process.env.PACHBACKUP_MEMORY_PROBE;
if (prefix) {
  let peak = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    if (usage.rss <= peak) return;
    peak = usage.rss;
    writeFileSync(`${prefix}.${process.pid}.json`, JSON.stringify(usage));
  };
  setInterval(sample, 200).unref();
}
