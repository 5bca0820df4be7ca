/**
 * What one CopyObject costs the sandbox's store and the copying client, by the shape of the request (not a test).
 * bench:copy compares pachbackup's whole copy with the store's raw CopyObject; when the store spends more CPU per
 * object in one than in the other, this tells whether the requests themselves differ or the machine does (the store
 * and the copier share two cores). Each shape copies the same objects, 64 at a time, through the lean client the
 * copier uses (`oneBucketClient`), into a fresh bucket, with nothing else running against the store:
 *
 *   raw          the bench's raw copy: `chunk/<key>` from `src/chunk/<key>`, nothing more
 *   pool         pachbackup's: into `pachbackup/objects/chunk/<key>`, URL-encoded copy source, If-Match
 *                on the listed ETag
 *   pool-listed  the same into a bucket listed first (the sandbox then keeps its index current)
 *
 * A first round warms the store up (its first thousands of requests cost it up to half again) and is not shown;
 * the shapes then run in turn, round after round, so drift shows as drift and not as a difference.
 *
 *   npm run bench:copy-requests
 *   PACHBACKUP_COPY_REQUEST_BENCH_COPIES=10000   (copies per shape and round)
 *   PACHBACKUP_COPY_REQUEST_BENCH_ROUNDS=2       (rounds after the warm-up)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CopyObjectCommand, CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, oneBucketClient } from '../src/object-store/s3-client.js';
import { stopProcess } from '../src/sandbox/processes.js';
import { S3RVER_CREDENTIALS, startS3 } from '../src/sandbox/services/s3.js';
import { cpuSeconds, seconds, timed } from './bench-support.js';

const SOURCE_OBJECTS = 2000;
const IN_FLIGHT = 64;
const copies = Number(process.env.PACHBACKUP_COPY_REQUEST_BENCH_COPIES ?? 10_000);
const rounds = Number(process.env.PACHBACKUP_COPY_REQUEST_BENCH_ROUNDS ?? 2);
const SHAPES = ['raw', 'pool', 'pool-listed'] as const;
type Shape = (typeof SHAPES)[number];

interface SourceObject {
  key: string;
  etag: string;
}

/** The copy request of `shape` for the `i`th copy of `object` into `bucket`. */
function request(shape: Shape, bucket: string, object: SourceObject, i: number): CopyObjectCommand {
  // A copy number on every key: each request writes a key of its own, as a backup's copies do.
  const suffix = `.${i.toString(16)}`;
  if (shape === 'raw') return new CopyObjectCommand({ Bucket: bucket, Key: object.key + suffix, CopySource: `src/${object.key}` });
  return new CopyObjectCommand({
    Bucket: bucket,
    Key: `pachbackup/objects/${object.key}${suffix}`,
    CopySource: `src/${object.key.split('/').map(encodeURIComponent).join('/')}`,
    CopySourceIfMatch: object.etag,
  });
}

const dir = mkdtempSync(join('/dev/shm', 'pachbackup-copy-request-bench-'));
let s3Pid: number | undefined;
let s3: S3Client | undefined;
try {
  const server = await startS3({ directory: join(dir, 's3'), buckets: ['src'], logFile: join(dir, 's3.log'), onSpawn: (pid) => (s3Pid = pid) });
  s3 = createS3Client({ endpoint: server.endpoint, region: server.region, bucket: 'src', prefix: '', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
  const client = s3;

  // Source objects shaped like Pachyderm's chunks: `chunk/<sha256>.<generation>`, 1 KiB each.
  const sources: SourceObject[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < SOURCE_OBJECTS) {
        const i = next++;
        const body = randomBytes(1024);
        const key = `chunk/${createHash('sha256').update(body).digest('hex')}.${i.toString(16).padStart(16, '0')}`;
        const put = await client.send(new PutObjectCommand({ Bucket: 'src', Key: key, Body: body, ContentLength: body.length }));
        sources.push({ key, etag: put.ETag ?? '' });
      }
    }),
  );

  let buckets = 0;
  const measure = async (shape: Shape) => {
    const bucket = `copy-request-${buckets++}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    if (shape === 'pool-listed') await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const lean = oneBucketClient(client)!;
    const storeBefore = cpuSeconds(server.pid);
    const clientBefore = process.cpuUsage();
    let copy = 0;
    const { ms } = await timed(() =>
      Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (copy < copies) {
            const i = copy++;
            await lean.send(request(shape, bucket, sources[i % sources.length]!, i));
          }
        }),
      ),
    );
    const used = process.cpuUsage(clientBefore);
    const perCopy = (cpuMs: number) => `${(cpuMs / copies).toFixed(3)} ms`;
    return { ms, store: perCopy((cpuSeconds(server.pid) - storeBefore) * 1000), client: perCopy((used.user + used.system) / 1000) };
  };

  console.log(`${copies.toLocaleString('en-US')} copies per shape and round, ${IN_FLIGHT} in flight, of ${SOURCE_OBJECTS.toLocaleString('en-US')} objects of 1 KiB`);
  for (const shape of SHAPES) await measure(shape); // warm-up, not shown
  for (let round = 1; round <= rounds; round++) {
    for (const shape of SHAPES) {
      const { ms, store, client: clientCpu } = await measure(shape);
      console.log(`  round ${round}  ${shape.padEnd(12)} ${seconds(ms).padStart(8)}   store CPU ${store} per copy   client CPU ${clientCpu} per copy`);
    }
  }
} finally {
  s3?.destroy();
  if (s3Pid !== undefined) await stopProcess(s3Pid).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
