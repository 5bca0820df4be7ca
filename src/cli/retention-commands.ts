import type { Command } from 'commander';
import { cliActor, print } from './cli-session.js';
import { parseBackupId } from '../catalog/backup-layout.js';
import { defaultConfigPath, loadConfig } from '../config/load-config.js';
import { PachbackupError } from '../errors.js';
import { formatBytes } from '../format-units.js';
import { poolsInUse, releasePoolInUse } from '../retention/pool-in-use.js';
import { runRetention } from '../retention/run-retention.js';
import { clusterAdapters, clusterNamed } from '../runtime/cluster-adapters.js';
import { connectState } from '../runtime/connect-state.js';

/** `pachbackup prune|pin|unpin|release-pool`: retention on demand, backups kept whatever the policy, a pool given back to retention. */
export function registerRetentionCommands(program: Command): void {
  const actor = cliActor;

  program
    .command('prune')
    .description("apply the cluster's retention policy: delete backups it does not keep, and pool objects that no complete backup in the store (of any cluster) references and that are older than retention.poolGraceHours")
    .option('-c, --config <file>', 'config file', defaultConfigPath())
    .option('--cluster <name>', 'which configured cluster')
    .option('--dry-run', 'show what would be deleted, delete nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; cluster?: string; dryRun?: boolean; json?: boolean }) => {
      const config = loadConfig(opts.config);
      const cluster = clusterNamed(config, opts.cluster);
      const state = await connectState(config);
      const adapters = clusterAdapters(cluster);
      try {
        const result = await runRetention({ cluster, s3: adapters.backupS3, catalog: adapters.catalog, locks: state.locks, requestedBy: actor(), dryRun: opts.dryRun ?? false });
        await state.audit.record({ actor: actor(), action: 'prune', cluster: cluster.name, outcome: 'succeeded', detail: { dryRun: result.dryRun, removed: result.plan.remove.map((r) => r.id), incomplete: result.incomplete, poolObjects: result.pool.objects, ...(result.pool.skipped ? { poolSkipped: result.pool.skipped } : {}) } });
        if (opts.json) return print(true, result, () => '');
        const verb = result.dryRun ? 'would delete' : 'deleted';
        console.log(`${cluster.name}: keeping ${result.plan.keep.length} backups (${result.plan.keep.map((k) => `${k.id}: ${k.reasons.join(', ')}`).join('; ') || 'none'})`);
        console.log(`${verb} ${result.plan.remove.length} backups${result.plan.remove.length ? `: ${result.plan.remove.map((r) => r.id).join(', ')}` : ''}`);
        console.log(`${verb} ${result.incomplete.length} incomplete folders${result.incomplete.length ? `: ${result.incomplete.join(', ')}` : ''}`);
        console.log(`${verb} ${result.pool.objects} pool objects (${formatBytes(result.pool.bytes)}) that no complete backup in the store references (of any cluster sharing it)`);
        if (result.pool.young > 0) console.log(`kept ${result.pool.young} unreferenced pool objects younger than ${cluster.retention.poolGraceHours} h (retention.poolGraceHours): a backup may still be copying them`);
        if (result.pool.skipped) console.log(`pool garbage collection left the pool alone: ${result.pool.skipped}`);
      } finally {
        adapters.close();
        await state.close();
      }
    });

  program
    .command('release-pool')
    .description('say that a cluster restored onto the backup pool in place no longer runs on it, so retention may collect the pool again')
    .requiredOption('--cluster <name>', 'the cluster that ran on the pool (as recorded; it need not be configured here)')
    .option('--store-of <name>', "which configured cluster's backup store holds the pool (default: --cluster's)")
    .option('-c, --config <file>', 'config file', defaultConfigPath())
    .action(async (opts: { config: string; cluster: string; storeOf?: string }) => {
      const config = loadConfig(opts.config);
      const owner = clusterNamed(config, opts.storeOf ?? opts.cluster);
      const state = await connectState(config);
      const adapters = clusterAdapters(owner);
      try {
        const store = owner.backupStore;
        const records = await poolsInUse(adapters.backupS3, store);
        if (!(await releasePoolInUse(adapters.backupS3, store, opts.cluster))) {
          throw new PachbackupError('not-found', `no record that cluster ${opts.cluster} runs on the pool of s3://${store.bucket}/${store.prefix}`, {
            hint: records.length > 0 ? `recorded there: ${records.map((r) => r.cluster).join(', ')}` : 'nothing is recorded as running on that pool: give --store-of the cluster whose backup store it is',
          });
        }
        await state.audit.record({ actor: actor(), action: 'release-pool', cluster: opts.cluster, outcome: 'succeeded', detail: { store: `s3://${store.bucket}/${store.prefix}` } });
        console.log(`${opts.cluster} no longer recorded as running on s3://${store.bucket}/${store.prefix}: retention collects that pool again (objects no complete backup references, older than ${owner.retention.poolGraceHours} h)`);
      } finally {
        adapters.close();
        await state.close();
      }
    });

  for (const [name, pin] of [
    ['pin', true],
    ['unpin', false],
  ] as const) {
    program
      .command(name)
      .description(pin ? 'keep a backup whatever the retention policy' : 'let retention delete a backup again')
      .argument('<backup-id>')
      .option('-c, --config <file>', 'config file', defaultConfigPath())
      .option('--reason <text>', 'why it is kept')
      .action(async (id: string, opts: { config: string; reason?: string }) => {
        const config = loadConfig(opts.config);
        const cluster = clusterNamed(config, parseBackupId(id)?.cluster);
        const adapters = clusterAdapters(cluster);
        try {
          if (!(await adapters.catalog.readManifest(cluster.name, id))) throw new PachbackupError('not-found', `no complete backup ${id} of ${cluster.name}`);
          if (pin) await adapters.catalog.writePin(cluster.name, { backupId: id, pinnedBy: actor(), pinnedAt: new Date().toISOString(), ...(opts.reason ? { reason: opts.reason } : {}) });
          else await adapters.catalog.removePin(cluster.name, id);
          console.log(`${id} ${pin ? 'pinned: retention keeps it' : 'unpinned'}`);
        } finally {
          adapters.close();
        }
      });
  }
}
