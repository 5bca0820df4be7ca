/**
 * Copy benchmark (not a test): how fast pachbackup copies a large bucket into its backup pool, split into key
 * ranges over worker processes, next to what the store itself can do and to rclone — and how much memory each
 * worker needs as the bucket grows. For each size (default 20,000 and 200,000 objects of 1 KiB, written straight
 * into a fresh s3rver's directory), in the same run:
 *
 *   - the store's raw limits: one sequential listing (ListObjectsV2), and CopyObject of every object with the
 *     key list in memory, at the best concurrency found by trying several on a sample;
 *   - pachbackup's copy (the backup's pre-copy step: list, compare with the pool, copy what is missing) with one
 *     `pachbackup worker` process and with several, the asking step running here as the CLI runs it; each
 *     worker's peak RSS (VmHWM), what it was made of (see memory-probe.cjs) and CPU time — the workers started
 *     with the Node options deploy/base/worker.yaml gives them;
 *   - `rclone sync --transfers 16` and `--transfers 64` (checkers as many) of the same bucket;
 *   - s3rver's CPU time during each, which shows when the store, not the copier, is the limit (s3rver is one
 *     Node process: one core at most).
 *
 *   npm run bench:copy
 *   PACHBACKUP_COPY_BENCH_SIZES=20000 npm run bench:copy        (one size, a few minutes)
 *   PACHBACKUP_COPY_BENCH_WORKERS=3                              (worker processes of the "several" run)
 *   PACHBACKUP_COPY_BENCH_PEER_SIZES=20000,200000                (raw limits, rclone and several workers at these
 *                                                                sizes — default the smallest; elsewhere one
 *                                                                worker, for its memory)
 *   PACHBACKUP_COPY_BENCH_RUNS=raw,one,several,rclone            (which runs, in this order; a run may repeat.
 *                                                                Default raw,one,several,rclone,raw,one: the
 *                                                                goal compares raw and pachbackup at their best)
 *   PACHBACKUP_COPY_BENCH_COPY_CONCURRENCY=16,8,32               (backup.copyConcurrency of each pachbackup run in
 *                                                                turn, the last for the rest: RUNS=one,one,one compares)
 *   PACHBACKUP_COPY_BENCH_PROFILE=DIR                            (CPU profiles of the workers into DIR)
 *   PACHBACKUP_COPY_BENCH_ON_DISK=1                              (s3rver's files on disk, not in /dev/shm)
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CopyObjectCommand, CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import pg from 'pg';
import { stringify } from 'yaml';
import { copyIntoPool } from '../src/backup/copy-into-pool.js';
import { loadConfig } from '../src/config/load-config.js';
import { rangesQueueName } from '../src/fan-out/range-queue.js';
import { formatBytes } from '../src/format-units.js';
import { createLogger } from '../src/log.js';
import { createS3Client, oneBucketClient } from '../src/object-store/s3-client.js';
import { backupDepsFor } from '../src/runtime/backup-deps-for.js';
import { connectState } from '../src/runtime/connect-state.js';
import { fanOutFor } from '../src/runtime/fan-out-for.js';
import { kubeconfigFor } from '../src/sandbox/kube-sim/kubeconfig.js';
import { stopProcess } from '../src/sandbox/processes.js';
import { startPostgres } from '../src/sandbox/services/postgres.js';
import { startRedis } from '../src/sandbox/services/redis.js';
import { S3RVER_CREDENTIALS, startS3 } from '../src/sandbox/services/s3.js';
import { cpuSeconds, deployedNodeOptions, run, seconds, timed } from './bench-support.js';

const sizes = (process.env.PACHBACKUP_COPY_BENCH_SIZES ?? '20000,200000').split(',').map((s) => Number(s.trim()));
const several = Number(process.env.PACHBACKUP_COPY_BENCH_WORKERS ?? 3);
/** Sizes at which the store's raw limits and rclone are measured too (default: every size). */
const peerSizes = process.env.PACHBACKUP_COPY_BENCH_PEER_SIZES ? process.env.PACHBACKUP_COPY_BENCH_PEER_SIZES.split(',').map((s) => Number(s.trim())) : [Math.min(...sizes)];
const RUN_NAMES = ['raw', 'one', 'several', 'rclone'] as const;
type RunName = (typeof RUN_NAMES)[number];
/**
 * By default the store's raw copy and pachbackup's one-worker copy run twice, first and last: s3rver's own speed
 * drifts by up to 40 % within one run (the same CopyObjects of the same keys took it 31 s and then 44 s of CPU),
 * so each is compared at its best.
 */
const DEFAULT_ORDER: RunName[] = ['raw', 'one', 'several', 'rclone', 'raw', 'one'];
const order = (process.env.PACHBACKUP_COPY_BENCH_RUNS?.split(',') ?? DEFAULT_ORDER).map((r) => r.trim()) as RunName[];
const unknownRun = order.find((r) => !RUN_NAMES.includes(r));
if (unknownRun) throw new Error(`PACHBACKUP_COPY_BENCH_RUNS: unknown run "${unknownRun}"; use a comma-separated list of ${RUN_NAMES.join(', ')}`);
/**
 * The runs at `size`: the store's raw limits, rclone and several workers at the sizes they are compared at;
 * elsewhere only the one-worker copy, for its memory (it is the worker that holds the most).
 */
const runsAt = (size: number): RunName[] => (peerSizes.includes(size) ? order : ['one']);
/** backup.copyConcurrency of each pachbackup run in turn (the last one for the rest); default: the config's default. */
const copyConcurrencies = (process.env.PACHBACKUP_COPY_BENCH_COPY_CONCURRENCY ?? '').split(',').filter((c) => c.trim() !== '').map((c) => Number(c.trim()));
const pachbackupRunsBefore = (size: number, run: number) => runsAt(size).slice(0, run).filter((r) => r === 'one' || r === 'several').length;
const profileDir = process.env.PACHBACKUP_COPY_BENCH_PROFILE;
const profileFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
const OBJECT_BYTES = 1024;
const PROBE_CONCURRENCIES = [8, 16, 32, 64, 128];
const MIB = 1024 * 1024;

/**
 * Where the bench keeps everything, s3rver's objects included: tmpfs (/dev/shm) where the machine has it. s3rver
 * stores each object as three files, and most of its time per copy is the kernel's (creating and copying files);
 * on this machine's disk (ext4, mounted with online discard) the same 20,000 CopyObjects took it 24 s of CPU in one
 * run and 47–54 s in the next, which drowned what the bench compares. In memory the store's speed repeats within
 * a few percent. PACHBACKUP_COPY_BENCH_ON_DISK=1 keeps it on disk (tmpdir).
 */
const onTmpfs = process.env.PACHBACKUP_COPY_BENCH_ON_DISK !== '1' && existsSync('/dev/shm');
const dir = mkdtempSync(join(onTmpfs ? '/dev/shm' : tmpdir(), 'pachbackup-copy-bench-'));
const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
/** What the bench started, stopped in reverse order whatever happens (PostgreSQL with SIGINT: a fast shutdown). */
const started: { pid: number; signal?: NodeJS.Signals }[] = [];
let closeClients: (() => Promise<void>) | undefined;
/** The workers' own log (warnings and up): a range that failed and was tried again, a worker that stalled. */
const workerLog = join(dir, 'workers.log');

/** A process's peak resident set size so far (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(line?.match(/(\d+)/)?.[1] ?? 0) * 1024;
}

/** What a worker's memory was made of at its peak RSS (see memory-probe.cjs): "heap 40 MiB, external 3 MiB, …". */
function peakMakeup(pid: number): string {
  const file = join(dir, `memory.${pid}.json`);
  if (!existsSync(file)) return 'no sample';
  const usage = JSON.parse(readFileSync(file, 'utf8')) as NodeJS.MemoryUsage;
  return `heap ${formatBytes(usage.heapUsed)} of ${formatBytes(usage.heapTotal)}, external ${formatBytes(usage.external)} (array buffers ${formatBytes(usage.arrayBuffers)}), other ${formatBytes(usage.rss - usage.heapTotal - usage.external)}`;
}

/** Runs `fn` and says how long it took and how much CPU s3rver spent meanwhile. */
async function measured<T>(s3Pid: number, fn: () => Promise<T>): Promise<{ value: T; ms: number; storeCpu: number }> {
  const before = cpuSeconds(s3Pid);
  const { value, ms } = await timed(fn);
  return { value, ms, storeCpu: cpuSeconds(s3Pid) - before };
}

/** `n` workers at a time run `each` over `items` (the bench's own pool, so nothing of pachbackup is measured). */
async function parallel<T>(items: readonly T[], n: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await each(items[next++]!);
  }));
}

/**
 * Seeds `bucket` with `count` objects by writing them straight into s3rver's directory — its own layout: the
 * bytes in `<key>._S3rver_object`, their MD5 in `<key>._S3rver_object.md5`, headers in
 * `<key>._S3rver_metadata.json` — before anything lists the bucket, whose sorted key index (indexed-listing.ts)
 * is built from the directory at its first listing. Thousands of objects a second, where PUTs through the one
 * s3rver process manage about a hundred; a sample is read back through the API to show the store serves them.
 */
async function seed(s3: S3Client, s3Dir: string, bucket: string, count: number): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const folder = join(s3Dir, bucket, 'chunk');
  mkdirSync(folder, { recursive: true });
  const metadata = JSON.stringify({ 'content-type': 'application/octet-stream' });
  const indexes = Array.from({ length: count }, (_, i) => i);
  await parallel(indexes, 32, async (i) => {
    const body = randomBytes(OBJECT_BYTES);
    const file = join(folder, `${createHash('sha256').update(body).digest('hex')}.${i.toString(16).padStart(16, '0')}._S3rver_`);
    await Promise.all([
      writeFile(`${file}object`, body),
      writeFile(`${file}object.md5`, createHash('md5').update(body).digest('hex')),
      writeFile(`${file}metadata.json`, metadata),
    ]);
  });
  const first = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 5 }));
  for (const o of first.Contents ?? []) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
    const bytes = await got.Body!.transformToByteArray();
    if (bytes.length !== OBJECT_BYTES || got.ETag !== o.ETag || `"${createHash('md5').update(bytes).digest('hex')}"` !== o.ETag) throw new Error(`seeded ${o.Key} reads back wrong`);
  }
}

async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** CopyObject of every key, through a client as lean per request as pachbackup's copier uses (`oneBucketClient`). */
async function copyAll(s3: S3Client, from: string, to: string, keys: readonly string[], concurrency: number): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: to }));
  const client = oneBucketClient(s3)!;
  await parallel(keys, concurrency, async (key) => void (await client.send(new CopyObjectCommand({ Bucket: to, Key: key, CopySource: `${from}/${key}` }))));
}

try {
  const [postgres, redis, s3server] = await Promise.all([
    startPostgres({ dataDir: join(dir, 'postgres') }),
    startRedis({ directory: dir, logFile: join(dir, 'redis.log') }),
    startS3({ directory: join(dir, 's3'), buckets: [], logFile: join(dir, 's3.log') }),
  ]);
  started.push({ pid: postgres.pid, signal: 'SIGINT' }, { pid: redis.pid }, { pid: s3server.pid });
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query('CREATE DATABASE pachbackup');
  await admin.end();

  // One configured cluster per size and run, each with its own (empty) backup bucket; credentials by file.
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigFor('http://127.0.0.1:1'));
  const secret = join(dir, 's3-secret');
  writeFileSync(secret, `${S3RVER_CREDENTIALS.secretAccessKey}\n`);
  // A cluster (with its own empty backup bucket) for each pachbackup run: a run that repeats gets a bucket of its own.
  const clusterName = (size: number, run: number) => `c${size}-${run}`;
  const clusters = Object.fromEntries(
    sizes.flatMap((size) =>
      runsAt(size).flatMap((which, run) =>
        which === 'one' || which === 'several'
          ? [
              [
                clusterName(size, run),
                {
                  kubernetes: { kubeconfig, context: 'sandbox', namespace: 'pachyderm' },
                  postgres: { host: '127.0.0.1', port: postgres.port, user: 'postgres', sslmode: 'disable', databases: ['postgres'] },
                  objectStore: { endpoint: s3server.endpoint, bucket: `src-${size}`, forcePathStyle: true, accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: { file: secret } },
                  backupStore: { bucket: `pool-${size}-${run}`, prefix: 'pachbackup' },
                  ...(copyConcurrencies.length > 0 ? { backup: { copyConcurrency: copyConcurrencies[Math.min(pachbackupRunsBefore(size, run), copyConcurrencies.length - 1)] } } : {}),
                },
              ],
            ]
          : [],
      ),
    ),
  );
  const configFile = join(dir, 'pachbackup.yaml');
  const retriesSoFar = () => (existsSync(workerLog) ? readFileSync(workerLog, 'utf8').split('\n').filter((l) => l.includes('range failed') || l.includes('another takes it')).length : 0);
  // The bench's own client (seeding, listing, the raw copy): the store as the clusters' objectStore names it.
  const s3 = createS3Client({ endpoint: s3server.endpoint, region: s3server.region, bucket: 'src', prefix: '', forcePathStyle: true, credentials: S3RVER_CREDENTIALS }, { maxSockets: 256 });
  const closeS3 = async () => void s3.destroy();
  closeClients = closeS3;
  /** pachbackup's configuration, state and range queue: only when some run copies with pachbackup (a config needs a cluster). */
  const pachbackupSide = async () => {
    writeFileSync(configFile, stringify({ stateDatabase: { url: postgres.url.replace(/\/postgres$/, '/pachbackup') }, redis: { url: redis.url, prefix: 'bench' }, clusters }));
    const config = loadConfig(configFile);
    const state = await connectState(config);
    const queueConnection = state.redis.duplicate();
    const rangesQueue = new Queue(rangesQueueName('bench'), { connection: queueConnection });
    closeClients = async () => {
      await closeS3();
      await rangesQueue.close();
      queueConnection.disconnect();
      await state.close();
    };
    return { config, state, rangesQueue };
  };
  const side = Object.keys(clusters).length > 0 ? await pachbackupSide() : undefined;
  const pachbackup = () => {
    if (!side) throw new Error('internal: a pachbackup run without a configured cluster');
    return side;
  };

  /** Starts `count` worker processes and waits until each takes range jobs. */
  const startWorkers = async (count: number): Promise<ChildProcess[]> => {
    const { rangesQueue } = pachbackup();
    const before = await rangesQueue.getWorkersCount();
    const workers = Array.from({ length: count }, () =>
      spawn(process.execPath, [...profileFlags, '--require', './bench/memory-probe.cjs', 'bin/pachbackup.js', 'worker', '--config', configFile], {
        stdio: ['ignore', openSync(workerLog, 'a'), openSync(workerLog, 'a')],
        env: { ...process.env, NODE_OPTIONS: deployedNodeOptions, LOG_LEVEL: 'warn', PACHBACKUP_METRICS_PORT: '0', PACHBACKUP_LISTEN_HOST: '127.0.0.1', PACHBACKUP_MEMORY_PROBE: join(dir, 'memory') },
      }),
    );
    for (const w of workers) started.push({ pid: w.pid! });
    while ((await rangesQueue.getWorkersCount()) < before + count) {
      if (workers.some((w) => w.exitCode !== null)) throw new Error('a worker process exited at start (run it by hand with the bench config to see why)');
      await sleep(100);
    }
    return workers;
  };

  /** The backup's pre-copy of `cluster` through pachbackup's own code, with `count` worker processes. */
  const pachbackupCopy = async (size: number, run: number, count: number) => {
    const { config, state } = pachbackup();
    const cluster = config.clusters[clusterName(size, run)]!;
    await s3.send(new CreateBucketCommand({ Bucket: cluster.backupStore.bucket }));
    const workers = await startWorkers(count);
    const ranges = fanOutFor(config, state, logger);
    const id = `bench-${size}-${run}`;
    await state.runs.createRun({ id, kind: 'backup', cluster: cluster.name, requestedBy: 'bench', phase: 'running' });
    // Held as a running CLI holds its run's lease: a worker ends runs that no live process holds (left by a dead CLI).
    if (!(await state.runs.claimLease(id, `bench:${process.pid}`, 24 * 3600_000))) throw new Error(`${id}: could not take the run's lease`);
    const deps = backupDepsFor(cluster, state, { id, requestedBy: 'bench' }, { fanOut: ranges.fanOut });
    const workerCpu = workers.map((w) => cpuSeconds(w.pid!));
    const retriesBefore = retriesSoFar();
    try {
      const result = await measured(s3server.pid, () =>
        copyIntoPool(
          deps,
          {
            runId: id,
            signal: new AbortController().signal,
            log: logger,
            outputs: {},
            progress: () => undefined,
            saveCheckpoint: async () => undefined,
            checkpoint: () => undefined,
            warn: () => undefined,
          },
          { step: 'pre-copy', listingDir: join(dir, 'listings', id) },
        ),
      );
      const copied = result.value;
      if (!copied) throw new Error(`${id}: the copy was not split (fewer objects than backup.fanOut.minObjects?)`);
      // A range tried again finds what its first attempt copied already there: copied + skipped is the bucket.
      if (copied.copied + copied.skipped !== size || copied.listed !== size) throw new Error(`${id}: ${copied.copied} copied and ${copied.skipped} found of ${copied.listed} listed, expected ${size}`);
      const perWorker = workers.map((w, i) => ({ rss: peakRss(w.pid!), makeup: peakMakeup(w.pid!), cpu: cpuSeconds(w.pid!) - workerCpu[i]! }));
      rmSync(join(dir, 'listings', id), { recursive: true, force: true });
      return { ...result, workers: perWorker, split: copied.split, retries: retriesSoFar() - retriesBefore };
    } finally {
      await state.runs.finishRun(id, { phase: 'succeeded', warnings: [] });
      deps.close();
      await ranges.close();
      await Promise.all(workers.map((w) => stopProcess(w.pid!)));
      rmSync(join(dir, 's3', cluster.backupStore.bucket), { recursive: true, force: true });
    }
  };

  const rclone = async (size: number, transfers: number) => {
    const target = `rclone-${size}-${transfers}`;
    await s3.send(new CreateBucketCommand({ Bucket: target }));
    const env = {
      ...process.env,
      RCLONE_CONFIG_S3A_TYPE: 's3',
      RCLONE_CONFIG_S3A_PROVIDER: 'Other',
      RCLONE_CONFIG_S3A_ENDPOINT: s3server.endpoint,
      RCLONE_CONFIG_S3A_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      RCLONE_CONFIG_S3A_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      RCLONE_CONFIG_S3A_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG_S3A_REGION: 'us-east-1',
    } as NodeJS.ProcessEnv;
    delete env.AWS_CA_BUNDLE; // rclone fails at start with it (PITFALLS.md)
    try {
      return await measured(s3server.pid, () => run('rclone', ['--config', '/dev/null', 'sync', `s3a:src-${size}`, `s3a:${target}`, '--transfers', String(transfers), '--checkers', String(transfers)], { env, maxBuffer: 1 << 24 }));
    } finally {
      rmSync(join(dir, 's3', target), { recursive: true, force: true });
    }
  };

  const rows: string[] = [];
  const probes: { concurrency: number; rate: number }[] = [];
  const peaks = new Map<number, number[]>();
  const say = (line: string) => {
    console.log(line);
    rows.push(line);
  };
  const cpu = (storeCpu: number, ms: number) => `s3rver CPU ${storeCpu.toFixed(0)} s = ${((storeCpu * 1000) / ms * 100).toFixed(0)}% of one core`;

  /** One sequential listing, then CopyObject of every key at the best concurrency tried on a sample. */
  const storeLimits = async (size: number, run: number, probe: boolean) => {
    const listing = await measured(s3server.pid, () => listKeys(s3, `src-${size}`));
    const keys = listing.value;
    if (keys.length !== size) throw new Error(`listed ${keys.length} of ${size}`);
    say(`  store: sequential listing      ${seconds(listing.ms).padStart(10)}  (${cpu(listing.storeCpu, listing.ms)})`);
    // The best concurrency, tried on a sample of the keys, then every object copied at it (a repeated raw run
    // uses the first one's).
    const sample = keys.slice(0, Math.min(2000, Math.ceil(size / 10)));
    if (probe) {
      for (const concurrency of PROBE_CONCURRENCIES) {
        const { ms } = await timed(() => copyAll(s3, `src-${size}`, `probe-${size}-${concurrency}`, sample, concurrency));
        rmSync(join(dir, 's3', `probe-${size}-${concurrency}`), { recursive: true, force: true });
        probes.push({ concurrency, rate: (sample.length / ms) * 1000 });
      }
    }
    const best = probes.reduce((a, b) => (b.rate > a.rate ? b : a));
    const clientCpu = process.cpuUsage();
    const copy = await measured(s3server.pid, () => copyAll(s3, `src-${size}`, `raw-${size}-${run}`, keys, best.concurrency));
    const benchCpu = process.cpuUsage(clientCpu);
    rmSync(join(dir, 's3', `raw-${size}-${run}`), { recursive: true, force: true });
    say(
      `  store: CopyObject, key list    ${seconds(copy.ms).padStart(10)}  at concurrency ${best.concurrency} (${cpu(copy.storeCpu, copy.ms)}; the copying client ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(0)} s of CPU)` +
        (probe ? `; probes: ${probes.map((p) => `${p.concurrency}→${p.rate.toFixed(0)}/s`).join(' ')}` : ''),
    );

    return { listing, copy };
  };

  for (const size of sizes) {
    console.log(`\n== ${size.toLocaleString('en-US')} objects of ${formatBytes(OBJECT_BYTES)} ==`);
    probes.length = 0; // each size finds its own best concurrency
    const seeded = await measured(s3server.pid, () => seed(s3, join(dir, 's3'), `src-${size}`, size));
    console.log(`seeded in ${seconds(seeded.ms)} (${Math.round((size / seeded.ms) * 1000)} objects/s, written into s3rver's directory)`);

    // Each figure is printed as soon as it is measured: a large size takes long, and a stopped run keeps what it had.
    say(`\n${size.toLocaleString('en-US')} objects (load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}; s3rver's files ${onTmpfs ? 'in memory (tmpfs)' : 'on disk'})`);
    const raws: Awaited<ReturnType<typeof storeLimits>>[] = [];
    const copies: { ms: number; storeCpu: number }[] = [];
    /** One-worker copies ÷ the raw copy run last before each: pairs close in time, which the machine's drift spares. */
    const pairs: number[] = [];
    const rclones: { ms: number }[] = [];
    for (const [run, which] of runsAt(size).entries()) {
      if (which === 'raw') {
        raws.push(await storeLimits(size, run, probes.length === 0));
      } else if (which === 'rclone') {
        for (const transfers of [16, 64]) {
          const r = await rclone(size, transfers);
          rclones.push(r);
          say(`  rclone sync --transfers ${String(transfers).padEnd(7)}${seconds(r.ms).padStart(10)}  (${cpu(r.storeCpu, r.ms)})`);
        }
      } else {
        const count = which === 'one' ? 1 : several;
        const label = `pachbackup, ${count} worker${count === 1 ? '' : 's'}${copyConcurrencies.length > 0 ? ` (${pachbackup().config.clusters[clusterName(size, run)]!.backup.copyConcurrency})` : ''}`;
        const r = await pachbackupCopy(size, run, count);
        copies.push(r);
        const rawBefore = raws.at(-1);
        if (count === 1 && rawBefore) pairs.push(r.ms / rawBefore.copy.ms);
        peaks.set(size, [...(peaks.get(size) ?? []), ...r.workers.map((w) => w.rss)]);
        say(
          `  ${label.padEnd(30)}${seconds(r.ms).padStart(10)}  ${r.split.ranges} ranges${r.retries ? ` (${r.retries} ranges retried, see ${workerLog})` : ''}; ${cpu(r.storeCpu, r.ms)}; ` +
            `workers: ${r.workers.map((w) => `peak RSS ${formatBytes(w.rss)} (${w.makeup}), CPU ${w.cpu.toFixed(0)} s`).join(' | ')}`,
        );
      }
    }
    if (raws.length === 0 || copies.length === 0) continue;
    // Each at its best (the store's speed drifts within a run), with what each cost the store per object.
    const best = <T extends { ms: number }>(runs: T[]): T => runs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const raw = best(raws.map((r) => ({ ms: r.copy.ms, storeCpu: r.copy.storeCpu, listingMs: r.listing.ms })));
    const pachbackupBest = best(copies).ms;
    const perObject = (storeCpu: number) => `${((storeCpu * 1000) / size).toFixed(2)} ms`;
    say(
      `  goal: copy ÷ raw CopyObject    ${(pachbackupBest / raw.ms).toFixed(2)} (≤ 1.10), each at its best of ${copies.length} and ${raws.length}; ÷ (raw listing + raw CopyObject) ${(pachbackupBest / (raw.listingMs + raw.ms)).toFixed(2)}; ` +
        (pairs.length > 0 ? `one worker ÷ the raw copy last before it ${pairs.map((p) => p.toFixed(2)).join(', ')}; ` : '') +
        `s3rver CPU per object: raw ${raws.map((r) => perObject(r.copy.storeCpu)).join(', ')}, pachbackup ${copies.map((c) => perObject(c.storeCpu)).join(', ')}`,
    );
    if (rclones.length === 0) continue;
    const rcloneBest = Math.min(...rclones.map((c) => c.ms));
    say(`  goal: faster than rclone       ${seconds(pachbackupBest)} vs ${seconds(rcloneBest)}: ${pachbackupBest < rcloneBest ? 'yes' : 'NO'}`);
  }

  if (sizes.length > 1) {
    const [small, large] = [Math.min(...sizes), Math.max(...sizes)];
    const peakOf = (size: number) => Math.max(...peaks.get(size)!);
    const ratio = peakOf(large) / peakOf(small);
    say(`\ngoal: worker peak RSS at ${large.toLocaleString('en-US')} ≤ 1.2 × at ${small.toLocaleString('en-US')} and < 256 MiB: ${formatBytes(peakOf(large))} vs ${formatBytes(peakOf(small))} = ${ratio.toFixed(2)}×: ${ratio <= 1.2 && peakOf(large) < 256 * MIB ? 'yes' : 'NO'}`);
  }
  console.log('\nSummary\n' + rows.join('\n'));
} catch (err) {
  // The directory goes with the run: what the workers said is shown before it does.
  if (existsSync(workerLog)) console.error(`The workers' log ended with:\n${readFileSync(workerLog, 'utf8').split('\n').slice(-40).join('\n')}`);
  throw err;
} finally {
  await closeClients?.();
  for (const { pid, signal } of started.reverse()) await stopProcess(pid, signal ? { signal } : {}).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
