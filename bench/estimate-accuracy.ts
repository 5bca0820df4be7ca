/**
 * Downtime-estimate accuracy (not a test): on the small sandbox, three backups build a history, then five more
 * backups of growing size (objects and database rows added between them) are each estimated first — as the
 * Slack confirmation does — and run; prints estimated vs actual downtime for each.
 *
 *   npm run bench:estimate
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runBackup } from '../src/backup/run-backup.js';
import { newBackupId } from '../src/catalog/backup-layout.js';
import { loadConfig } from '../src/config/load-config.js';
import { estimateBackup, estimateError } from '../src/estimate/estimate-backup.js';
import { createLogger } from '../src/log.js';
import { createRunEvents } from '../src/runner/run-event.js';
import { backupDepsFor } from '../src/runtime/backup-deps-for.js';
import { clusterAdapters } from '../src/runtime/cluster-adapters.js';
import { connectState } from '../src/runtime/connect-state.js';
import { sandboxDown } from '../src/sandbox/sandbox-down.js';
import { sandboxUp } from '../src/sandbox/sandbox-up.js';
import { addChunks } from '../src/sandbox/seed/chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'pachbackup-estimate-'));
const logger = createLogger({ level: 'warn', destination: process.stderr });
const state = await sandboxUp({ dir, size: 'small', logger, podDelayMs: 500 });
try {
  const config = loadConfig(state.config);
  const cluster = config.clusters[state.cluster]!;
  const conn = await connectState(config);
  const adapters = clusterAdapters(cluster);
  const db = new pg.Client({ connectionString: state.postgres.url.replace(/\/postgres$/, '/pachyderm') });
  await db.connect();
  const grow = async (objects: number, rows: number) => {
    await addChunks({ s3: adapters.clusterS3, bucket: cluster.objectStore.bucket, db, count: objects, minBytes: 16 * 1024, maxBytes: 512 * 1024 });
    if (rows > 0) await db.query(`INSERT INTO storage.filesets (id, metadata_pb) SELECT gen_random_uuid(), convert_to(repeat(md5(random()::text), 64), 'UTF8') FROM generate_series(1, $1)`, [rows]);
  };
  const backup = async () => {
    const estimated = await estimateBackup({ pool: conn.pool, cluster, workloads: adapters.workloads, clusterS3: adapters.clusterS3, catalog: adapters.catalog });
    const deps = backupDepsFor(cluster, conn, { id: newBackupId(cluster.name), requestedBy: 'bench' });
    await conn.runs.createRun({ id: deps.backupId, kind: 'backup', cluster: cluster.name, requestedBy: 'bench', estimate: estimated.estimate });
    const result = await runBackup({ deps, events: createRunEvents(), log: logger });
    deps.close();
    if (result.status !== 'succeeded') throw new Error(`backup ${result.status}: ${result.error}`);
    return { estimate: estimated.estimate, result };
  };

  console.log('history: 3 backups');
  for (let i = 0; i < 3; i++) {
    await grow(50, 20_000);
    const { result } = await backup();
    console.log(`  ${result.id}: ${result.objects.total} objects, downtime ${result.downtimeSeconds} s`);
  }
  console.log('\nrun  objects  db rows added  estimated (range)            actual   error    in range  basis');
  const growth = [100, 400, 800, 1600, 3200];
  for (const [i, objects] of growth.entries()) {
    await grow(objects, objects * 200);
    const { estimate, result } = await backup();
    const actual = result.downtimeSeconds ?? 0;
    const err = estimateError(estimate, actual);
    console.log(
      `${String(i + 1).padEnd(4)} ${String(result.objects.total).padEnd(8)} ${String(objects * 200).padEnd(14)} ${`${estimate.expectedSeconds.toFixed(2)} s (${estimate.lowSeconds.toFixed(2)}–${estimate.highSeconds.toFixed(2)})`.padEnd(28)} ${`${actual.toFixed(2)} s`.padEnd(8)} ${`${((err.relativeError ?? 0) * 100).toFixed(0)}%`.padEnd(8)} ${String(err.withinRange).padEnd(9)} ${estimate.basis} (${estimate.runs} runs)`,
    );
  }
  await db.end();
  adapters.close();
  await conn.close();
} finally {
  await sandboxDown(dir);
  rmSync(dir, { recursive: true, force: true });
}
