/**
 * One backup in a process of its own, as a worker runs it, for the backup benchmark: estimates it first (as the
 * Slack confirmation does), runs it, and prints one JSON line — the result, each step's duration, the estimate
 * and the process's peak memory (maxRSS), so the benchmark can compare workers at different sizes.
 *
 *   node --import tsx bench/backup-child.ts <config file> <cluster> <backup store prefix>
 */
import { runBackup } from '../src/backup/run-backup.js';
import { newBackupId } from '../src/catalog/backup-layout.js';
import { loadConfig } from '../src/config/load-config.js';
import { estimateBackup } from '../src/estimate/estimate-backup.js';
import { createLogger } from '../src/log.js';
import { createRunEvents } from '../src/runner/run-event.js';
import { backupDepsFor } from '../src/runtime/backup-deps-for.js';
import { clusterAdapters } from '../src/runtime/cluster-adapters.js';
import { connectState } from '../src/runtime/connect-state.js';

const [configFile, clusterName, prefix] = process.argv.slice(2);
if (!configFile || !clusterName || !prefix) {
  console.error('usage: backup-child <config file> <cluster> <backup store prefix>');
  process.exit(2);
}
const config = loadConfig(configFile);
const base = config.clusters[clusterName]!;
const cluster = { ...base, backupStore: { ...base.backupStore, prefix } };
const conn = await connectState(config);
const adapters = clusterAdapters(cluster);
try {
  const { estimate } = await estimateBackup({ pool: conn.pool, cluster, workloads: adapters.workloads, clusterS3: adapters.clusterS3, catalog: adapters.catalog });
  const deps = backupDepsFor(cluster, conn, { id: newBackupId(cluster.name), requestedBy: 'bench' });
  await conn.runs.createRun({ id: deps.backupId, kind: 'backup', cluster: cluster.name, requestedBy: 'bench', estimate });
  const events = createRunEvents();
  const steps: Record<string, number> = {};
  events.subscribe((e) => {
    if (e.type === 'step-finished') steps[e.step] = e.durationMs;
  });
  const result = await runBackup({ deps, events, log: createLogger({ level: 'warn', destination: process.stderr }) });
  deps.close();
  console.log(JSON.stringify({ result, steps, estimate, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
} finally {
  adapters.close();
  await conn.close();
}
