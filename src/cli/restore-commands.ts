import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { defaultConfigPath, loadConfig } from '../config/load-config.js';
import { drillDepsFor } from '../drill/drill-deps-for.js';
import { runDrill, type DrillResult } from '../drill/run-drill.js';
import { PachbackupError } from '../errors.js';
import { formatBytes, formatDuration } from '../format-units.js';
import { createLogger } from '../log.js';
import { newOperationId } from '../restore/operation-id.js';
import { restoreDepsFor } from '../restore/restore-deps-for.js';
import { planRestore, type RestorePlan } from '../restore/restore-plan.js';
import type { RestoreRequest } from '../restore/restore-request.js';
import { runRestore, type RestoreResult } from '../restore/run-restore.js';
import { createRunEvents } from '../runner/run-event.js';
import { clusterNamed } from '../runtime/cluster-adapters.js';
import { connectState } from '../runtime/connect-state.js';
import { fanOutFor } from '../runtime/fan-out-for.js';
import { recoverAtStart } from './backup-commands.js';
import { cancelOnSignal, cliActor, print } from './cli-session.js';
import { createProgressDisplay } from './progress-display.js';

interface CommonOptions {
  config: string;
  json?: boolean;
  cluster: string;
}

interface RestoreOptions extends CommonOptions {
  databaseSuffix?: string;
  sameDatabases?: boolean;
  targetBucket?: string;
  targetPrefix?: string;
  targetEndpoint?: string;
  useBackupPool?: boolean;
  credentialsSecret?: string;
  chartVersion?: string;
  overwrite?: boolean;
  yes?: boolean;
}

/** The request the flags describe; usage errors for flags that contradict each other. */
export function restoreRequestFromFlags(backupId: string, opts: Omit<RestoreOptions, keyof CommonOptions>): RestoreRequest {
  if (opts.databaseSuffix !== undefined && opts.sameDatabases) throw new PachbackupError('usage', '--database-suffix and --same-databases contradict each other', { hint: 'choose new databases (a suffix) or the original names' });
  if ((opts.targetPrefix !== undefined || opts.targetEndpoint !== undefined) && opts.targetBucket === undefined) {
    throw new PachbackupError('usage', '--target-prefix and --target-endpoint need --target-bucket');
  }
  if (opts.useBackupPool && opts.targetBucket !== undefined) throw new PachbackupError('usage', '--use-backup-pool and --target-bucket contradict each other');
  return {
    backupId,
    databases: opts.sameDatabases ? { kind: 'original' } : { kind: 'new', ...(opts.databaseSuffix ? { suffix: opts.databaseSuffix } : {}) },
    objects: opts.useBackupPool
      ? { kind: 'backup-pool' }
      : opts.targetBucket !== undefined
        ? { kind: 'bucket', bucket: opts.targetBucket, ...(opts.targetPrefix ? { prefix: opts.targetPrefix } : {}), ...(opts.targetEndpoint ? { endpoint: opts.targetEndpoint } : {}) }
        : { kind: 'cluster-bucket' },
    overwrite: opts.overwrite ?? false,
    ...(opts.credentialsSecret ? { credentialsSecret: opts.credentialsSecret } : {}),
    ...(opts.chartVersion ? { chartVersion: opts.chartVersion } : {}),
  };
}

/** A plan as a person reads it before confirming: what is replaced stands out. */
export function formatRestorePlan(plan: RestorePlan): string {
  const v = plan.backup.verification;
  const lines = [
    `Restore plan: backup ${plan.backup.id} (of ${plan.backup.cluster}, completed ${plan.backup.completedAt}) into ${plan.target.displayName} (cluster ${plan.target.cluster}, namespace ${plan.target.namespace})`,
    `  fingerprint  ${plan.fingerprint}`,
    `  backup       Pachyderm ${plan.backup.pachydermVersion ?? '?'}, chart ${plan.backup.chartVersion ?? '?'}; ${v ? (v.ok ? `verified (${v.source === 'verify.json' ? `verify.json of ${v.verifiedAt}` : 'just now'})` : 'FAILS VERIFICATION') : 'verification not checked'}`,
    `  target       Pachyderm ${plan.target.pachyderm.installed ? `${plan.target.pachyderm.version ?? '(version unknown)'}, ${plan.target.pachyderm.running ? `running (${plan.target.pachyderm.pachd})` : 'scaled to 0'}` : 'not installed'}${plan.inPlace ? '; RESTORING IN PLACE' : ''}`,
    ...plan.databases.map((d) => `  database     ${d.source} → ${d.target} on ${plan.target.postgres.host}:${plan.target.postgres.port}${d.replaces ? ' (REPLACES a non-empty database)' : d.exists ? ' (exists, empty)' : ' (new)'}; ${d.tables} tables, ${d.rows} rows, dump ${formatBytes(d.dumpBytes)}`),
    `  objects      ${plan.objects.mode === 'backup-pool' ? 'used in place from the backup pool' : `${plan.objects.count} objects (${formatBytes(plan.objects.bytes)})`} → s3://${plan.objects.bucket}/${plan.objects.prefix}${plan.objects.bucketExists ? (plan.objects.empty ? ' (empty)' : ' (NOT EMPTY)') : ' (bucket created)'}`,
    `  pause        ${plan.pause.needed ? `yes: ${plan.pause.workloads.join(', ')} — ${plan.pause.reason}` : `no — ${plan.pause.reason}`}`,
    `  steps        ${plan.steps.map((s) => s.name).join(' → ')}`,
    ...plan.creates.map((c) => `  creates      ${c}`),
    ...plan.changes.map((c) => `  changes      ${c}`),
    ...plan.overwrites.map((o) => `  OVERWRITES   ${o}`),
    ...plan.helm.changes.map((c) => `  helm value   ${c.path}: ${JSON.stringify(c.from ?? null)} → ${JSON.stringify(c.to)}`),
    ...plan.warnings.map((w) => `  warning      ${w}`),
    ...plan.refusals.map((r) => `  REFUSED      ${r}`),
  ];
  return lines.join('\n');
}

function describeRestore(r: RestoreResult): string {
  const lines = [`Restore ${r.id} of ${r.backupId} into ${r.cluster}: ${r.status}${r.error ? ` — ${r.error}` : ''}`];
  if (r.downtimeSeconds !== null) lines.push(`  paused      ${formatDuration(r.downtimeSeconds * 1000)}`);
  for (const d of r.databases) lines.push(`  database    ${d.source} → ${d.target}: ${d.tables} tables, ${d.rows} rows${d.replaced ? ' (replaced the previous one)' : ''}${d.mismatches.length ? `; ${d.mismatches.length} row-count differences` : ''}`);
  lines.push(`  objects     ${r.objects.mode === 'backup-pool' ? 'used in place' : `${r.objects.copied} copied (${formatBytes(r.objects.copiedBytes)}), ${r.objects.skipped} already there, of ${r.objects.total}`} in s3://${r.objects.bucket}/${r.objects.prefix}`);
  if (r.helm) {
    lines.push(`  helm values ${r.helm.valuesUrl}`);
    lines.push(`  next        save them as restored-values.yaml, then: ${r.helm.command}`);
  }
  for (const w of r.warnings) lines.push(`  warning     ${w}`);
  return lines.join('\n');
}

function describeDrill(r: DrillResult): string {
  return [
    `Drill ${r.id} of ${r.backupId ?? '(no backup)'} on ${r.cluster}: ${r.ok ? 'OK' : 'FAILED'} in ${formatDuration(r.durationMs)}${r.error && !r.ok ? ` — ${r.error}` : ''}`,
    ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
  ].join('\n');
}

/** Asks the person at the terminal to type the target cluster's name; true when they did. */
async function confirmByName(name: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`\nType the name of the target cluster (${name}) to restore, anything else to stop: `);
    return answer.trim() === name;
  } finally {
    rl.close();
  }
}

/**
 * `pachbackup restore` and `pachbackup drill`: the CLI twins of Slack's restore (confirmation by typing the
 * target's name, or --yes for scripts; audited either way) and drill.
 */
export function registerRestoreCommands(program: Command): void {
  const withConfig = (cmd: Command) => cmd.option('-c, --config <file>', 'config file', defaultConfigPath()).option('--json', 'print one JSON object at the end');

  withConfig(
    program
      .command('restore')
      .description('restore a backup into a cluster: prints the plan, asks for confirmation, then restores the databases and objects and renders the Helm values')
      .argument('<backup-id>'),
  )
    .requiredOption('--cluster <name>', 'the configured cluster to restore into')
    .option('--database-suffix <suffix>', 'restore into new databases <name>_<suffix> (default suffix restored_<yyyymmdd>)')
    .option('--same-databases', "restore into the backup's own database names (in place needs --overwrite)")
    .option('--target-bucket <bucket>', "copy the objects into this bucket (default: the cluster's own bucket); created when missing")
    .option('--target-prefix <prefix>', 'under this key prefix (only storage backends that honour a prefix can use it)')
    .option('--target-endpoint <url>', "the target bucket's S3 endpoint, as pachbackup and pachd both reach it")
    .option('--use-backup-pool', 'no copy: point Pachyderm at the backup pool (the backup store stops being a backup)')
    .option('--credentials-secret <name>', "the Secret with the PostgreSQL password for the rendered values (default: the backup's)")
    .option('--chart-version <version>', "chart version of the helm command (default: the backup's)")
    .option('--overwrite', 'replace non-empty target databases and write into a non-empty bucket')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .action(async (backupId: string, opts: RestoreOptions) => {
      const config = loadConfig(opts.config);
      const target = clusterNamed(config, opts.cluster);
      const request = restoreRequestFromFlags(backupId, opts);
      if (!opts.yes && !process.stdin.isTTY) throw new PachbackupError('usage', 'stdin is not a terminal, so the restore cannot be confirmed', { hint: 'pass --yes to restore without confirmation' });
      const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
      const state = await connectState(config);
      const events = createRunEvents((err) => log.warn({ err }, 'progress display failed'));
      if (!opts.json) events.subscribe(createProgressDisplay());
      const actor = cliActor();
      const restoreId = newOperationId('restore', target.name);
      const ranges = fanOutFor(config, state, log);
      const deps = restoreDepsFor(config, target, state, { id: restoreId, backupId, requestedBy: actor, ...(opts.yes ? {} : { approvedBy: actor }) }, { fanOut: ranges.fanOut });
      const cancel = cancelOnSignal('Cancelling: undoing what was done (the cluster is resumed).');
      try {
        await recoverAtStart(config, state, log, events);
        const plan = await planRestore({ env: deps, request, signal: cancel.signal });
        const detail = { via: 'cli', backupId, fingerprint: plan.fingerprint, request: plan.request };
        await state.audit.record({ actor, action: 'restore', cluster: target.name, runId: restoreId, outcome: 'requested', detail });
        if (!opts.json) print(false, plan, () => formatRestorePlan(plan));
        if (plan.refusals.length > 0) {
          await state.audit.record({ actor, action: 'restore', cluster: target.name, runId: restoreId, outcome: 'refused', detail: { ...detail, refusals: plan.refusals } });
          if (opts.json) print(true, { plan, result: null }, () => '');
          else console.error(`\nRefused: ${plan.refusals.length} problem${plan.refusals.length === 1 ? '' : 's'} above. Nothing was changed.`);
          process.exitCode = 1;
          return;
        }
        const confirmed = opts.yes ? true : await confirmByName(target.name);
        await state.audit.record({
          actor,
          action: 'restore',
          cluster: target.name,
          runId: restoreId,
          outcome: confirmed ? 'approved' : 'refused',
          detail: { ...detail, confirmation: opts.yes ? '--yes' : confirmed ? 'typed the cluster name' : 'name not typed' },
        });
        if (!confirmed) {
          console.error('Not confirmed: nothing was changed.');
          process.exitCode = 1;
          return;
        }
        cancel.listen();
        if (!opts.json) console.error(`Restoring ${backupId} into ${target.displayName} as ${restoreId}`);
        const result = await runRestore({ deps, plan, events, log, signal: cancel.signal });
        await state.audit.record({
          actor,
          action: 'restore',
          cluster: target.name,
          runId: restoreId,
          outcome: result.status === 'succeeded' || result.status === 'partially-failed' ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed',
          detail: { ...detail, status: result.status, error: result.error },
        });
        print(opts.json, { plan, result }, () => `\n${describeRestore(result)}`);
        if (result.status !== 'succeeded') process.exitCode = 1;
      } finally {
        cancel.dispose();
        deps.close();
        await ranges.close();
        await state.close();
      }
    });

  withConfig(
    program
      .command('drill')
      .description('restore a backup into scratch databases and a scratch prefix, check it, and remove the scratch (exit 1 when a check fails)')
      .argument('[backup-id]', 'the backup to drill (default: the newest complete one)'),
  )
    .requiredOption('--cluster <name>', 'the configured cluster whose backup to drill')
    .action(async (backupId: string | undefined, opts: CommonOptions) => {
      const config = loadConfig(opts.config);
      const cluster = clusterNamed(config, opts.cluster);
      const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
      const state = await connectState(config);
      const events = createRunEvents((err) => log.warn({ err }, 'progress display failed'));
      if (!opts.json) events.subscribe(createProgressDisplay());
      const actor = cliActor();
      const deps = drillDepsFor(cluster, state, { id: newOperationId('drill', cluster.name), requestedBy: actor, ...(backupId ? { backupId } : {}) });
      const cancel = cancelOnSignal('Cancelling the drill: removing its scratch.');
      cancel.listen();
      try {
        await recoverAtStart(config, state, log, events);
        await state.audit.record({ actor, action: 'drill', cluster: cluster.name, runId: deps.drillId, outcome: 'requested', detail: { via: 'cli', backupId: backupId ?? null } });
        const result = await runDrill({ deps, events, log, signal: cancel.signal });
        await state.audit.record({
          actor,
          action: 'drill',
          cluster: cluster.name,
          runId: deps.drillId,
          outcome: result.ok ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed',
          detail: { backupId: result.backupId, failed: result.checks.filter((c) => !c.ok).map((c) => c.name) },
        });
        print(opts.json, result, () => describeDrill(result));
        if (!result.ok) process.exitCode = 1;
      } finally {
        cancel.dispose();
        deps.close();
        await state.close();
      }
    });
}
