import type { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import type { ObjectStoreConfig } from '../config/config.js';
import { ConfigError, defaultConfigPath, loadConfig } from '../config/load-config.js';
import { checkConfigIdentities } from '../identity/check-config-identities.js';
import { createS3Client } from '../object-store/s3-client.js';

/** `pachbackup config check`: validate a config file and say what it configures. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('work with the configuration file');
  config
    .command('check')
    .description('validate the config file, resolving its secrets, ask the buckets and servers whether differently spelt ones are the same, and list its clusters')
    .option('-c, --config <file>', 'config file', defaultConfigPath())
    .option('--offline', 'only validate the file: do not ask the buckets and PostgreSQL servers')
    .action(async (opts: { config: string; offline?: boolean }) => {
      const loaded = loadConfig(opts.config);
      if (!opts.offline) {
        const clients = new Map<string, S3Client>();
        const clientFor = (store: ObjectStoreConfig) => {
          const key = JSON.stringify([store.endpoint, store.region, store.forcePathStyle, store.credentials?.accessKeyId]);
          let client = clients.get(key);
          if (!client) clients.set(key, (client = createS3Client(store)));
          return client;
        };
        try {
          const findings = await checkConfigIdentities(loaded, { clientFor });
          for (const question of findings.unknown) console.error(`note: could not tell ${question}`);
          if (findings.problems.length > 0) throw new ConfigError(opts.config, findings.problems);
        } finally {
          for (const client of clients.values()) client.destroy();
        }
      }
      const names = Object.values(loaded.clusters).map((c) => `${c.name} (${c.kubernetes.inCluster ? 'in-cluster' : `context ${c.kubernetes.context}`}, namespace ${c.kubernetes.namespace})`);
      console.log(`${opts.config}: OK — ${names.length} cluster${names.length === 1 ? '' : 's'}: ${names.join('; ')}`);
    });
}
