import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve, dirname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { PachbackupError } from '../errors.js';
import { canonicalTimeZone } from '../schedules/schedule.js';
import type { ClusterConfig, Config, ObjectStoreConfig, ScheduleConfig } from './config.js';
import { configSchema, type RawCluster, type RawConfig, type SecretRef } from './schema.js';
import { formatIssue } from './format-issue.js';
import { sameBucketSpelling } from '../identity/same-bucket.js';
import { inlineUrlCredential } from '../secrets/redact-secrets.js';

/** Raised for a configuration that cannot be used; `problems` has one line per problem, each naming its key. */
export class ConfigError extends PachbackupError {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super('config-invalid', `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** Where the config file is looked for when no path is given. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PACHBACKUP_CONFIG ?? 'pachbackup.yaml';
}

/**
 * Reads, validates and resolves a config file. Every problem found is reported at once (not just the first),
 * each as `key: what was found; what is expected`. Secrets are read from the environment or mounted files here,
 * so a missing one fails at start-up rather than in the middle of a backup.
 */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  if (!existsSync(path)) {
    throw new PachbackupError('config-missing', `config file ${path} does not exist`, {
      hint: 'pass --config FILE or set PACHBACKUP_CONFIG; `pachbackup sandbox up` writes a working example',
    });
  }
  return parseConfig(readFileSync(path, 'utf8'), { source: path, env });
}

/** Validates config text (YAML or JSON). `source` names it in messages; relative file paths resolve against its folder. */
export function parseConfig(text: string, options: { source: string; env?: NodeJS.ProcessEnv }): Config {
  const { source } = options;
  const env = options.env ?? process.env;
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map((e) => `not valid YAML: ${e.message.split('\n')[0]}`));
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(source, ['the file must be a YAML mapping with at least `stateDatabase`, `redis` and `clusters`']);
  }
  const parsed = configSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigError(source, parsed.error.issues.map((issue) => formatIssue(issue, configSchema as z.ZodType)));
  }
  const baseDir = source.startsWith('<') ? process.cwd() : dirname(resolve(source));
  const resolver = new Resolver(env, baseDir);
  const config = resolveConfig(parsed.data, source, resolver);
  if (resolver.problems.length > 0) throw new ConfigError(source, resolver.problems);
  return config;
}

/** Resolves secret references and paths, collecting problems instead of stopping at the first. */
class Resolver {
  readonly problems: string[] = [];
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly baseDir: string,
  ) {}

  problem(key: string, message: string): void {
    this.problems.push(`${key}: ${message}`);
  }

  path(key: string, value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const full = isAbsolute(value) ? value : resolve(this.baseDir, value);
    if (!existsSync(full)) this.problem(key, `file ${JSON.stringify(value)} does not exist; expected a readable file`);
    return full;
  }

  value(key: string, value: string | SecretRef | undefined): string | undefined {
    if (value === undefined || typeof value === 'string') return value;
    if (value.env !== undefined) {
      const found = this.env[value.env];
      if (found === undefined || found === '') {
        this.problem(key, `environment variable ${value.env} is not set; expected it to hold the value`);
        return undefined;
      }
      return found;
    }
    const file = this.path(key, value.file);
    if (file === undefined || !existsSync(file)) return undefined;
    const content = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (content === '') this.problem(key, `file ${JSON.stringify(value.file)} is empty; expected it to hold the value`);
    return content;
  }
}

function resolveConfig(raw: RawConfig, source: string, r: Resolver): Config {
  const clusters: Record<string, ClusterConfig> = {};
  for (const [name, cluster] of Object.entries(raw.clusters)) clusters[name] = resolveCluster(name, cluster, r);

  for (const cluster of Object.values(clusters)) {
    for (const other of Object.values(clusters)) {
      if (other.name !== cluster.name && sameBucketSpelling(cluster.backupStore, other.objectStore)) {
        r.problem(`clusters.${cluster.name}.backupStore.bucket`, `"${cluster.backupStore.bucket}" is the bucket cluster ${other.name} runs on; expected a separate bucket, so that a backup survives what happens to the cluster's data`);
      }
    }
  }

  const config: Config = {
    source,
    stateDatabaseUrl: r.value('stateDatabase.url', raw.stateDatabase.url) ?? '',
    redis: { url: r.value('redis.url', raw.redis.url) ?? '', prefix: raw.redis.prefix },
    shutdownGraceSeconds: raw.shutdownGraceSeconds,
    clusters,
  };
  checkUrl(r, 'stateDatabase.url', config.stateDatabaseUrl, ['postgres:', 'postgresql:'], 'postgres://user@host:5432/pachbackup');
  checkUrl(r, 'redis.url', config.redis.url, ['redis:', 'rediss:'], 'redis://host:6379');
  refuseInlineCredential(r, 'stateDatabase.url', raw.stateDatabase.url, { byReference: true, secretKey: 'stateDatabase.password' });
  refuseInlineCredential(r, 'redis.url', raw.redis.url, { byReference: true, secretKey: 'redis.password' });
  const stateDatabasePassword = r.value('stateDatabase.password', raw.stateDatabase.password as SecretRef | undefined);
  if (stateDatabasePassword !== undefined) config.stateDatabasePassword = stateDatabasePassword;
  const redisPassword = r.value('redis.password', raw.redis.password as SecretRef | undefined);
  if (redisPassword !== undefined) config.redis.password = redisPassword;

  if (raw.slack) {
    config.slack = {
      botToken: r.value('slack.botToken', raw.slack.botToken as SecretRef) ?? '',
      signingSecret: r.value('slack.signingSecret', raw.slack.signingSecret as SecretRef) ?? '',
      port: raw.slack.port,
    };
    const appToken = r.value('slack.appToken', raw.slack.appToken as SecretRef | undefined);
    if (appToken !== undefined) config.slack.appToken = appToken;
    if (raw.slack.apiUrl !== undefined) config.slack.apiUrl = raw.slack.apiUrl;
    refuseInlineCredential(r, 'slack.apiUrl', raw.slack.apiUrl, { byReference: false });
    if (config.slack.botToken && !config.slack.botToken.startsWith('xoxb-')) {
      r.problem('slack.botToken', 'the value does not start with "xoxb-"; expected the bot token from OAuth & Permissions');
    }
    if (appToken && !appToken.startsWith('xapp-')) {
      r.problem('slack.appToken', 'the value does not start with "xapp-"; expected an app-level token with connections:write');
    }
    for (const [name, cluster] of Object.entries(clusters)) {
      if (!cluster.slack) r.problem(`clusters.${name}.slack`, 'missing; expected `opsChannel` (and `announceChannel`) when `slack` is configured');
    }
  }
  return config;
}

function resolveCluster(name: string, raw: RawCluster, r: Resolver): ClusterConfig {
  const key = `clusters.${name}`;
  const k = raw.kubernetes;
  if (k.inCluster && k.context !== undefined) {
    r.problem(`${key}.kubernetes`, 'both `inCluster: true` and `context` are set; expected one of them');
  }
  if (!k.inCluster && k.context === undefined) {
    r.problem(`${key}.kubernetes.context`, 'missing; expected the kubeconfig context of this cluster, or `inCluster: true` when pachbackup runs inside it');
  }

  const pg = raw.postgres;
  if ((pg.sslmode === 'verify-ca' || pg.sslmode === 'verify-full') && pg.sslRootCert === undefined) {
    r.problem(`${key}.postgres.sslRootCert`, `missing; sslmode ${pg.sslmode} needs the CA certificate file that signed the server's certificate`);
  }
  const databases = new Set<string>();
  for (const db of pg.databases) {
    if (databases.has(db)) r.problem(`${key}.postgres.databases`, `"${db}" is listed twice; expected each database once`);
    databases.add(db);
  }

  const objectStore = resolveStore(`${key}.objectStore`, raw.objectStore, r);
  const backupStore = resolveStore(`${key}.backupStore`, raw.backupStore, r, objectStore);
  if (sameBucketSpelling(objectStore, backupStore)) {
    r.problem(
      `${key}.backupStore.bucket`,
      `"${backupStore.bucket}" is the cluster's own bucket; expected a separate bucket, so that a backup survives what happens to the cluster's data`,
    );
  }

  const cluster: ClusterConfig = {
    name,
    displayName: raw.displayName ?? name,
    kubernetes: { inCluster: k.inCluster, namespace: k.namespace },
    pachyderm: { ...raw.pachyderm, quiesce: [...raw.pachyderm.quiesce] },
    postgres: { host: pg.host, port: pg.port, user: pg.user, sslmode: pg.sslmode, databases: [...pg.databases] },
    objectStore,
    backupStore,
    ingress: raw.ingress,
    backup: raw.backup,
    schedules: resolveSchedules(key, raw.schedules, r),
    retention: raw.retention,
    alerts: raw.alerts,
    restore: raw.restore,
    access: raw.access,
  };
  checkApprovals(key, raw, r);
  if (raw.pachyderm.quiesce.includes(raw.pachyderm.deployment)) {
    r.problem(`${key}.pachyderm.quiesce`, `lists "${raw.pachyderm.deployment}", the pachd deployment itself; expected only the other deployments`);
  }
  const kubeconfig = r.path(`${key}.kubernetes.kubeconfig`, k.kubeconfig);
  if (kubeconfig !== undefined) cluster.kubernetes.kubeconfig = kubeconfig;
  if (k.context !== undefined) cluster.kubernetes.context = k.context;
  const password = r.value(`${key}.postgres.password`, pg.password as SecretRef | undefined);
  if (password !== undefined) cluster.postgres.password = password;
  const ca = r.path(`${key}.postgres.sslRootCert`, pg.sslRootCert);
  if (ca !== undefined) cluster.postgres.sslRootCert = ca;
  if (raw.slack) cluster.slack = raw.slack;
  return cluster;
}

/**
 * A number of approvals that the named approvers cannot give: without an approver group, every approval comes from
 * `access.approvers.users`, so asking for more than are listed leaves every restore request waiting until it expires.
 * A cluster with no approvers and the default single approval is left alone: it simply takes no restores from Slack.
 */
function checkApprovals(key: string, raw: RawCluster, r: Resolver): void {
  const { users, groups } = raw.access.approvers;
  const needed = raw.restore.requiredApprovals;
  if (groups.length > 0 || needed <= users.length || (users.length === 0 && needed === 1)) return;
  const named = users.length === 0 ? 'no approvers are named' : `only ${users.length} approver${users.length === 1 ? ' is' : 's are'} named`;
  r.problem(`${key}.restore.requiredApprovals`, `${needed} approvals needed but ${named} in access.approvers.users; name more approvers or a group`);
}

/** The cluster's schedules with canonical zone names; the same cron and zone twice would run two backups at once. */
function resolveSchedules(key: string, raw: RawCluster['schedules'], r: Resolver): ScheduleConfig[] {
  const seen = new Map<string, number>();
  return raw.map((s, i) => {
    const schedule = { cron: s.cron.trim(), timezone: canonicalTimeZone(s.timezone), headsUpMinutes: s.headsUpMinutes };
    const same = `${schedule.cron}\n${schedule.timezone}`;
    const first = seen.get(same);
    if (first !== undefined) r.problem(`${key}.schedules[${i}]`, `repeats schedules[${first}] ("${schedule.cron}" in ${schedule.timezone}); expected each schedule once`);
    else seen.set(same, i);
    return schedule;
  });
}

function resolveStore(
  key: string,
  raw: RawCluster['objectStore'] | RawCluster['backupStore'],
  r: Resolver,
  fallback?: ObjectStoreConfig,
): ObjectStoreConfig {
  const store: ObjectStoreConfig = {
    region: raw.region ?? fallback?.region ?? 'us-east-1',
    bucket: raw.bucket,
    prefix: raw.prefix,
    forcePathStyle: raw.forcePathStyle ?? fallback?.forcePathStyle ?? false,
  };
  refuseInlineCredential(r, `${key}.endpoint`, raw.endpoint, { byReference: false, secretKey: `${key}.accessKeyId and ${key}.secretAccessKey` });
  const endpoint = raw.endpoint ?? fallback?.endpoint;
  if (endpoint !== undefined) store.endpoint = endpoint;
  const accessKeyId = r.value(`${key}.accessKeyId`, raw.accessKeyId);
  const secretAccessKey = r.value(`${key}.secretAccessKey`, raw.secretAccessKey as SecretRef | undefined);
  if ((raw.accessKeyId === undefined) !== (raw.secretAccessKey === undefined)) {
    r.problem(key, 'has only one of `accessKeyId` and `secretAccessKey`; expected both, or neither to use the default AWS credential chain');
  } else if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    store.credentials = { accessKeyId, secretAccessKey };
  } else if (raw.accessKeyId === undefined && fallback?.credentials) {
    store.credentials = fallback.credentials;
  }
  return store;
}

/**
 * A URL written in the file with a credential in it (a password in its userinfo, or `?password=`-style query
 * parameters): refused like any other secret written in the file, naming the key and the two ways to fix it.
 * The same URL given by reference (`{ env }`/`{ file }`) is fine: then the file holds no secret.
 */
function refuseInlineCredential(r: Resolver, key: string, value: string | SecretRef | undefined, fix: { byReference: boolean; secretKey?: string }): void {
  if (typeof value !== 'string') return;
  const found = inlineUrlCredential(value);
  if (found === undefined) return;
  const what = found === 'password' ? 'a password in the URL' : 'a credential in the URL\'s query';
  const fixes: string[] = [];
  if (fix.secretKey) fixes.push(`remove it from the URL and set \`${fix.secretKey}: { file: /path }\` (or \`{ env: VARIABLE }\`)`);
  if (fix.byReference) fixes.push(`give the whole URL by reference (\`${key}: { env: VARIABLE }\` or \`{ file: /path }\`)`);
  if (fixes.length === 0) fixes.push('remove it from the URL');
  r.problem(key, `holds ${what}; secrets are not written in the config file: ${fixes.join(', or ')}`);
}

function checkUrl(r: Resolver, key: string, value: string, protocols: string[], example: string): void {
  if (value === '') return; // already reported by the resolver
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    r.problem(key, `is not a URL; expected something like ${example}`);
    return;
  }
  if (!protocols.includes(protocol)) r.problem(key, `has scheme "${protocol}"; expected ${protocols.join(' or ')} as in ${example}`);
}
