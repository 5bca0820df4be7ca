import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/object-store/s3-client.js';
import { CHUNK_FOLDER, splitKeySpace } from '../src/object-store/key-ranges.js';
import { syncRangesToPool } from '../src/object-store/sync-ranges.js';
import { stopProcess } from '../src/sandbox/processes.js';
import { S3RVER_CREDENTIALS, startS3 } from '../src/sandbox/services/s3.js';

import { readFileSync } from 'node:fs';
const srvCpu = () => { const f = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const count = Number(process.env.N ?? 24000);
const rangesN = Number(process.env.R ?? 16);
const dir = mkdtempSync(join(tmpdir(), 'pb-delta-'));
const s3dir = join(dir, 's3');
const server = await startS3({ directory: s3dir, buckets: ['cluster', 'backup'], logFile: join(dir, 's3.log') });
try {
  const store = (bucket: string) => ({ endpoint: server.endpoint, region: 'us-east-1', bucket, prefix: '', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
  const cs = store('cluster'), bs = store('backup');
  const s3c = createS3Client(cs), s3b = createS3Client(bs);
  mkdirSync(join(s3dir, 'cluster', 'chunk'), { recursive: true });
  mkdirSync(join(s3dir, 'backup', 'objects', 'chunk'), { recursive: true });
  const meta = JSON.stringify({ 'content-type': 'application/octet-stream' });
  let i = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (i < count) {
      const n = i++;
      const body = randomBytes(1024 + (n % 3000));
      const name = `${createHash('sha256').update(body).digest('hex')}.${n.toString(16).padStart(16, '0')}._S3rver_`;
      for (const base of [join(s3dir, 'cluster', 'chunk', name), join(s3dir, 'backup', 'objects', 'chunk', name)]) {
        await Promise.all([writeFile(`${base}object`, body), writeFile(`${base}object.md5`, createHash('md5').update(body).digest('hex')), writeFile(`${base}metadata.json`, meta)]);
      }
    }
  }));
  await s3c.send(new ListObjectsV2Command({ Bucket: 'cluster', MaxKeys: 1 }));
  await s3b.send(new ListObjectsV2Command({ Bucket: 'backup', MaxKeys: 1 }));
  const src = { s3: s3c, store: cs }, dst = { s3: s3b, store: bs };
  let t = performance.now();
  const ranges = splitKeySpace(rangesN, CHUNK_FOLDER);
  const first = await syncRangesToPool({ source: src, target: dst, ranges, outputDir: join(dir, 'l0'), listConcurrency: 16, concurrency: 16, expectedObjects: count });
  console.log(`first pass (pool listed) ${(performance.now() - t).toFixed(0)} ms, listed ${first.listed}, copied ${first.copied}`);
  const { listObjects } = await import('../src/object-store/list-objects.js');
  for (const rn of [] as number[]) {
    for (let k = 0; k < 2; k++) {
      t = performance.now();
      const cpu0 = process.cpuUsage(); const s0 = srvCpu();
      let n = 0;
      await Promise.all(splitKeySpace(rn, CHUNK_FOLDER).map(async (range) => { for await (const _ of listObjects(s3c, 'cluster', '', { range, expectedKeys: Math.ceil(count / rn) })) n++; }));
      const c = process.cpuUsage(cpu0);
      console.log(`list only, ${rn} ranges: ${(performance.now() - t).toFixed(0)} ms (${n}); client cpu ${((c.user + c.system) / 1000).toFixed(0)} ms; s3rver cpu ${(srvCpu() - s0).toFixed(0)} ms`);
    }
  }
  let previous = first.listing;
  const { Session } = await import('node:inspector/promises');
  const session = new Session(); session.connect();
  await session.post('Profiler.enable'); await session.post('Profiler.start');
  for (let k = 1; k <= Number(process.env.K ?? 4); k++) {
    t = performance.now();
    const cpu0 = process.cpuUsage(); const s0 = srvCpu();
    const r = await syncRangesToPool({ source: src, target: dst, ranges: previous.ranges, previous, outputDir: join(dir, `l${k}`), listConcurrency: 16, concurrency: 16 });
    const c = process.cpuUsage(cpu0);
    console.log(`paused pass ${k}: ${(performance.now() - t).toFixed(0)} ms, listed ${r.listed}, copied ${r.copied}; client cpu ${((c.user + c.system) / 1000).toFixed(0)} ms; s3rver cpu ${(srvCpu() - s0).toFixed(0)} ms`);
    previous = r.listing;
  }
  const { profile } = await session.post('Profiler.stop');
  (await import('node:fs')).writeFileSync('/tmp/exp/paused.cpuprofile', JSON.stringify(profile));
  console.log(`peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  await stopProcess(server.pid);
  rmSync(dir, { recursive: true, force: true });
}
