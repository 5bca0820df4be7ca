import type { Command } from 'commander';
import { recoverInterruptedRuns } from '../backup/recover-interrupted.js';
import { createOperationsQueue } from '../jobs/operations-queue.js';
import { requeueVanishedJobs } from '../jobs/requeue-runs.js';
import { runBackup, type BackupResult } from '../backup/run-backup.js';
import { verifyBackup } from '../backup/verify-backup.js';
import { recoverInterruptedRestores } from '../restore/recover-interrupted-restores.js';
import { readStoredText, restoredHelmValuesKey } from '../restore/read-backup.js';
import { restoreDepsFor } from '../restore/restore-deps-for.js';
import { newBackupId, parseBackupId } from '../catalog/backup-layout.js';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { BackupManifest } from '../catalog/manifest.js';
import type { ClusterConfig, Config } from '../config/config.js';
import { defaultConfigPath, loadConfig } from '../config/load-config.js';
import { PachbackupError } from '../errors.js';
import { formatBytes, formatDuration } from '../format-units.js';
import { createLogger, type Logger } from '../log.js';
import { createRunEvents, type RunEvents } from '../runner/run-event.js';
import { clusterAdapters, clusterNamed, type ClusterAdapters } from '../runtime/cluster-adapters.js';
import { backupDepsFor } from '../runtime/backup-deps-for.js';
import { fanOutFor, rangeWorkersRunning } from '../runtime/fan-out-for.js';
import { connectState, type StateConnections } from '../runtime/connect-state.js';
import { cancelOnSignal, cliActor, print } from './cli-session.js';
import { createProgressDisplay } from './progress-display.js';

interface CommonOptions {
  config: string;
  json?: boolean;
}


/**
 * Ends backups and restores a dead process left in flight (resuming their clusters) before doing anything else: every CLI
 * start that reaches the state database does this, so a cluster is never left paused by a crash.
 */
export async function recoverAtStart(config: Config, state: StateConnections, log: Logger, events: RunEvents): Promise<BackupResult[]> {
  const recovered = await recoverInterruptedRuns({
    config,
    runs: state.runs,
    locks: state.locks,
    log,
    events,
    depsFor: (run) => backupDepsFor(config.clusters[run.cluster]!, state, { id: run.id, requestedBy: run.requestedBy, ...(run.note ? { note: run.note } : {}) }),
  });
  for (const r of recovered) {
    await state.audit.record({ actor: 'pachbackup', action: 'recover', cluster: r.cluster, runId: r.id, outcome: r.status === 'failed' ? 'succeeded' : 'failed', detail: { status: r.status, error: r.error } });
    console.error(`pachbackup: recovered interrupted backup ${r.id} on ${r.cluster}: ${r.error ?? r.status}`);
  }
  const restores = await recoverInterruptedRestores({
    config,
    runs: state.runs,
    locks: state.locks,
    log,
    events,
    depsFor: (run, record) => restoreDepsFor(config, config.clusters[run.cluster]!, state, { id: run.id, backupId: record.plan.backup.id, requestedBy: run.requestedBy }),
  });
  for (const r of restores) {
    await state.audit.record({ actor: 'pachbackup', action: 'recover', cluster: r.cluster, runId: r.id, outcome: r.status === 'failed' ? 'succeeded' : 'failed', detail: { kind: 'restore', status: r.status, error: r.error } });
    console.error(`pachbackup: recovered interrupted restore ${r.id} on ${r.cluster}: ${r.error ?? r.status}`);
  }
  return recovered;
}

function describeResult(r: BackupResult): string {
  const lines = [`Backup ${r.id} of ${r.cluster}: ${r.status}${r.error ? ` — ${r.error}` : ''}`];
  if (r.downtimeSeconds !== null) lines.push(`  downtime    ${formatDuration(r.downtimeSeconds * 1000)}`);
  if (r.objects.total > 0) lines.push(`  objects     ${r.objects.total} (${formatBytes(r.bytes.total)}); copied ${r.objects.copied} (${formatBytes(r.bytes.copied)}), ${r.objects.copiedWhilePaused} while paused`);
  for (const db of r.databases) lines.push(`  database    ${db.name}: ${formatBytes(db.bytes)}, sha256 ${db.sha256.slice(0, 16)}…`);
  if (r.verified !== undefined) lines.push(`  verified    ${r.verified ? 'yes' : 'NO'}`);
  for (const w of r.warnings) lines.push(`  warning     ${w}`);
  return lines.join('\n');
}

function describeEntry(e: CatalogEntry): string {
  const m = e.manifest;
  const verified = e.verification ? (e.verification.ok ? 'verified' : 'VERIFY FAILED') : 'unverified';
  return `${m.id}  ${m.completedAt}  downtime ${formatDuration(m.downtime.seconds * 1000).padEnd(9)} ${String(m.objects.count).padStart(7)} objects ${formatBytes(m.objects.bytes).padStart(10)}  ${m.databases.map((d) => `${d.name} ${formatBytes(d.bytes)}`).join(', ')}  ${verified}`;
}

/** Runs `fn` on one complete backup — its cluster, the cluster's clients and its manifest — or says where to look. */
async function withBackup(
  id: string,
  opts: { config: string; cluster?: string },
  fn: (backup: { cluster: ClusterConfig; adapters: ClusterAdapters; manifest: BackupManifest }) => Promise<void>,
): Promise<void> {
  const cluster = clusterOfBackup(loadConfig(opts.config), id, opts.cluster);
  const adapters = clusterAdapters(cluster);
  try {
    const manifest = await adapters.catalog.readManifest(cluster.name, id);
    if (!manifest) throw new PachbackupError('not-found', `no complete backup ${id} of ${cluster.name}`, { hint: `\`pachbackup list --cluster ${cluster.name}\` shows the backups` });
    await fn({ cluster, adapters, manifest });
  } finally {
    adapters.close();
  }
}

/** The backup's cluster: named in its id, or given with --cluster. */
function clusterOfBackup(config: Config, id: string, given?: string): ClusterConfig {
  if (given) return clusterNamed(config, given);
  const parsed = parseBackupId(id);
  if (!parsed) throw new PachbackupError('usage', `"${id}" is not a backup id`, { hint: 'ids look like prod-20261124t031500z-7f3a; `pachbackup list --cluster NAME` shows them' });
  return clusterNamed(config, parsed.cluster);
}

/** `pachbackup backup|list|show|verify`. */
export function registerBackupCommands(program: Command): void {
  const withConfig = (cmd: Command) => cmd.option('-c, --config <file>', 'config file', defaultConfigPath()).option('--json', 'print one JSON object at the end');

  withConfig(program.command('backup').description('back up a cluster now: pause it, dump its databases, copy its objects, resume it'))
    .option('--cluster <name>', 'which configured cluster')
    .option('--note <text>', 'a note kept with the backup')
    .action(async (opts: CommonOptions & { cluster?: string; note?: string }) => {
      const config = loadConfig(opts.config);
      const cluster = clusterNamed(config, opts.cluster);
      const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
      const state = await connectState(config);
      const events = createRunEvents((err) => log.warn({ err }, 'progress display failed'));
      if (!opts.json) events.subscribe(createProgressDisplay());
      const cancel = cancelOnSignal('Cancelling: undoing what was done (the cluster is resumed).');
      cancel.listen();
      const ranges = fanOutFor(config, state, log);
      try {
        await recoverAtStart(config, state, log, events);
        const actor = cliActor();
        const deps = backupDepsFor(cluster, state, { id: newBackupId(cluster.name), requestedBy: actor, ...(opts.note ? { note: opts.note } : {}) }, { fanOut: ranges.fanOut });
        if (!opts.json && !(await rangeWorkersRunning(config, state))) {
          console.error('No pachbackup worker is running: a large copy is split into key ranges copied here, several at once.');
        }
        await state.audit.record({ actor, action: 'backup', cluster: cluster.name, runId: deps.backupId, outcome: 'requested', detail: { via: 'cli', note: opts.note } });
        if (!opts.json) console.error(`Backing up ${cluster.displayName} (${cluster.kubernetes.context ?? 'in-cluster'}, namespace ${cluster.kubernetes.namespace}) as ${deps.backupId}`);
        const result = await runBackup({ deps, events, log, signal: cancel.signal });
        await state.audit.record({ actor, action: 'backup', cluster: cluster.name, runId: deps.backupId, outcome: result.status === 'succeeded' ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed', detail: { status: result.status, error: result.error } });
        print(opts.json, result, () => describeResult(result));
        if (result.status !== 'succeeded') process.exitCode = 1;
      } finally {
        cancel.dispose();
        await ranges.close();
        await state.close();
      }
    });

  withConfig(program.command('recover').description('end runs a dead process left in flight, resuming their clusters; queue again those whose job Redis lost'))
    .action(async (opts: CommonOptions) => {
      const config = loadConfig(opts.config);
      const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
      const state = await connectState(config);
      try {
        const events = createRunEvents();
        if (!opts.json) events.subscribe(createProgressDisplay());
        const recovered = await recoverAtStart(config, state, log, events);
        // Runs workers were given whose jobs Redis lost: queued again (the state database says they are in flight).
        const connection = state.redis.duplicate({ maxRetriesPerRequest: null });
        const queue = createOperationsQueue(connection, config.redis.prefix, { runs: state.runs });
        try {
          for (const id of await requeueVanishedJobs({ runs: state.runs, queue, log })) console.error(`pachbackup: queued run ${id} again: its job was gone from Redis`);
        } finally {
          await queue.close();
          await connection.quit().catch(() => connection.disconnect());
        }
        print(opts.json, recovered, () => (recovered.length ? recovered.map(describeResult).join('\n') : 'Nothing to recover: no backup was left in flight.'));
      } finally {
        await state.close();
      }
    });

  withConfig(program.command('list').description('list the backups of a cluster, from the backup store alone'))
    .option('--cluster <name>', 'which configured cluster')
    .action(async (opts: CommonOptions & { cluster?: string }) => {
      const config = loadConfig(opts.config);
      const cluster = clusterNamed(config, opts.cluster);
      const adapters = clusterAdapters(cluster);
      try {
        const { backups, incomplete } = await adapters.catalog.list(cluster.name);
        const json = [
          ...backups.map((b) => ({
            id: b.manifest.id,
            status: 'complete' as const,
            completedAt: b.manifest.completedAt,
            downtimeSeconds: b.manifest.downtime.seconds,
            objects: b.manifest.objects.count,
            bytes: b.manifest.objects.bytes,
            databases: b.manifest.databases.map((d) => ({ name: d.name, bytes: d.bytes })),
            pachydermVersion: b.manifest.pachyderm.appVersion ?? null,
            verified: b.verification ? b.verification.ok : null,
          })),
          ...incomplete.map((id) => ({ id, status: 'incomplete' as const })),
        ];
        print(opts.json, json, () =>
          backups.length === 0 && incomplete.length === 0
            ? `No backups of ${cluster.name} in s3://${cluster.backupStore.bucket}/${cluster.backupStore.prefix}`
            : [...backups.map(describeEntry), ...incomplete.map((id) => `${id}  incomplete (no manifest: failed or still running; never restorable)`)].join('\n'),
        );
      } finally {
        adapters.close();
      }
    });

  withConfig(program.command('show').description('show one backup\'s manifest').argument('<backup-id>'))
    .option('--cluster <name>', 'the cluster, when the id does not name a configured one')
    .action((id: string, opts: CommonOptions & { cluster?: string }) =>
      withBackup(id, opts, async ({ cluster, adapters, manifest }) => {
        const verification = await adapters.catalog.readVerification(cluster.name, id);
        print(opts.json, { manifest, verification: verification ?? null }, () =>
          [
            describeEntry({ manifest, ...(verification ? { verification } : {}) }),
            `  requested by ${manifest.requestedBy}${manifest.note ? ` — "${manifest.note}"` : ''}`,
            `  Pachyderm   chart ${manifest.pachyderm.chartVersion ?? '?'}, app ${manifest.pachyderm.appVersion ?? '?'}, image ${manifest.pachyderm.pachdImage ?? '?'}`,
            `  paused      ${manifest.downtime.pausedAt} → ${manifest.downtime.resumedAt}`,
            ...manifest.steps.map((s) => `  step        ${s.name.padEnd(16)} ${s.durationMs === null ? '' : formatDuration(s.durationMs)}`),
            ...(verification ? verification.checks.map((c) => `  check       ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`) : []),
          ].join('\n'),
        );
      }),
    );

  program
    .command('values')
    .description("print a backup's Helm values as kept in the backup store, secrets included (what Slack, logs and the state database show as placeholders); needs the backup store's credentials")
    .argument('<backup-id>')
    .option('-c, --config <file>', 'config file', defaultConfigPath())
    .option('--cluster <name>', 'the cluster, when the id does not name a configured one')
    .option('--restore <restore-id>', 'the values one restore rendered from this backup, pointed at the restored state')
    .action((id: string, opts: { config: string; cluster?: string; restore?: string }) =>
      withBackup(id, opts, async ({ cluster, adapters, manifest }) => {
        const location = { s3: adapters.backupS3, store: cluster.backupStore, cluster: cluster.name };
        const key = opts.restore ? restoredHelmValuesKey(location, id, opts.restore) : manifest.helmValues?.key;
        if (!key) throw new PachbackupError('not-found', `backup ${id} has no Helm values (the cluster was not installed with Helm, or its release was not found)`);
        const text = await readStoredText(location, key);
        if (text === undefined) {
          throw new PachbackupError('not-found', `no ${opts.restore ? `values rendered by restore ${opts.restore}` : 'Helm values'} at s3://${cluster.backupStore.bucket}/${key}`, {
            hint: opts.restore ? 'the restore id is the run id its messages name; the file is written by its helm-values step' : undefined,
          });
        }
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      }),
    );

  withConfig(program.command('verify').description('verify a backup from the backup store alone (exit 1 when a check fails)').argument('<backup-id>'))
    .option('--cluster <name>', 'the cluster, when the id does not name a configured one')
    .action((id: string, opts: CommonOptions & { cluster?: string }) =>
      withBackup(id, opts, async ({ cluster, adapters, manifest }) => {
        const record = await verifyBackup({ s3: adapters.backupS3, store: cluster.backupStore, manifest });
        await adapters.catalog.writeVerification(cluster.name, record);
        print(opts.json, record, () => [`${id}: ${record.ok ? 'OK' : 'FAILED'}`, ...record.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`)].join('\n'));
        if (!record.ok) process.exitCode = 1;
      }),
    );
}
