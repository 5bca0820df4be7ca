import type { Command } from 'commander';
import { defaultConfigPath, loadConfig } from '../config/load-config.js';

/** `pachbackup config check`: validate a config file and say what it configures. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('work with the configuration file');
  config
    .command('check')
    .description('validate the config file, resolving its secrets, and list its clusters')
    .option('-c, --config <file>', 'config file', defaultConfigPath())
    .action((opts: { config: string }) => {
      const loaded = loadConfig(opts.config);
      const names = Object.values(loaded.clusters).map((c) => `${c.name} (${c.kubernetes.inCluster ? 'in-cluster' : `context ${c.kubernetes.context}`}, namespace ${c.kubernetes.namespace})`);
      console.log(`${opts.config}: OK — ${names.length} cluster${names.length === 1 ? '' : 's'}: ${names.join('; ')}`);
    });
}
