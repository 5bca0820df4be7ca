import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'pachbackup-config-'));
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n');
const passwordFile = join(dir, 'pg-password');
writeFileSync(passwordFile, 's3cr3t-from-file\n');

const env = { PG_PASSWORD: 'pw-from-env', S3_SECRET: 'aws-secret', SLACK_BOT_TOKEN: 'xoxb-123', SLACK_SIGNING_SECRET: 'signing', STATE_DB: 'postgres://u@db/pachbackup' };

/** A complete, valid config with two clusters; tests break one thing at a time. */
function goodConfig(): Record<string, any> {
  return {
    stateDatabase: { url: { env: 'STATE_DB' } },
    redis: { url: 'redis://redis:6379' },
    slack: { botToken: { env: 'SLACK_BOT_TOKEN' }, signingSecret: { env: 'SLACK_SIGNING_SECRET' } },
    clusters: {
      prod: {
        kubernetes: { context: 'prod-admin', namespace: 'pachyderm' },
        pachyderm: { pauseStrategy: 'enterprise' },
        postgres: { host: 'pg.prod', user: 'pachyderm', password: { env: 'PG_PASSWORD' }, sslmode: 'verify-full', sslRootCert: caFile },
        objectStore: { bucket: 'pach-prod', region: 'eu-west-1', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: { env: 'S3_SECRET' } },
        backupStore: { bucket: 'pach-prod-backups', prefix: 'pachbackup' },
        ingress: { cronJobs: ['ingest'] },
        slack: { opsChannel: 'C0OPS', announceChannel: '#data-announcements' },
        access: { operators: { users: ['U0ALICE'], groups: ['S0PLATFORM'] }, approvers: { users: ['U0BOB'] } },
      },
      staging: {
        kubernetes: { inCluster: true },
        postgres: { host: 'pg.staging', user: 'pachyderm', password: { file: passwordFile }, sslmode: 'disable' },
        objectStore: { endpoint: 'http://minio:9000', bucket: 'pach-staging', forcePathStyle: true },
        backupStore: { endpoint: 'http://minio:9000', bucket: 'backups' },
        slack: { opsChannel: 'C0OPS' },
      },
    },
  };
}

function problemsOf(config: unknown, envOverride: Record<string, string> = env): string[] {
  try {
    parseConfig(stringify(config), { source: 'test.yaml', env: envOverride });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the config to be refused');
}

describe('configuration', () => {
  it('accepts a good config, fills defaults and resolves secrets from env and files', () => {
    const config = parseConfig(stringify(goodConfig()), { source: 'test.yaml', env });
    const prod = config.clusters.prod!;
    expect(config.stateDatabaseUrl).toBe('postgres://u@db/pachbackup');
    expect(prod.postgres.password).toBe('pw-from-env');
    expect(prod.postgres.databases).toEqual(['pachyderm', 'dex']);
    expect(prod.postgres.port).toBe(5432);
    expect(prod.pachyderm).toMatchObject({ deployment: 'pachd', quiesce: ['pachw'], workerSelector: 'suite=pachyderm,component=worker', pauseStrategy: 'enterprise', helmRelease: 'pachyderm' });
    expect(prod.objectStore.credentials).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'aws-secret' });
    // The backup store inherits the cluster store's region and credentials when it names none.
    expect(prod.backupStore).toMatchObject({ bucket: 'pach-prod-backups', prefix: 'pachbackup', region: 'eu-west-1', credentials: prod.objectStore.credentials });
    const staging = config.clusters.staging!;
    expect(staging.postgres.password).toBe('s3cr3t-from-file');
    expect(staging.kubernetes).toMatchObject({ inCluster: true, namespace: 'pachyderm' });
    expect(config.slack?.appToken).toBeUndefined();
  });

  const bad: [string, (c: Record<string, any>) => void, RegExp][] = [
    ['an unknown sslmode', (c) => (c.clusters.prod.postgres.sslmode = 'strict'), /clusters\.prod\.postgres\.sslmode: got "strict"; expected one of "disable", "allow", "prefer", "require", "verify-ca", "verify-full"/],
    ['a misspelt key', (c) => (c.clusters.prod.kubernetes.namspace = 'x'), /unknown key "namspace" in clusters\.prod\.kubernetes; expected one of inCluster, kubeconfig, context, namespace/],
    ['a password written in the file', (c) => (c.clusters.prod.postgres.password = 'hunter2'), /clusters\.prod\.postgres\.password: got a value; expected `\{ env: VARIABLE \}` or `\{ file: \/path\/to\/file \}`/],
    ['the backup store in the cluster bucket', (c) => (c.clusters.prod.backupStore.bucket = 'pach-prod'), /clusters\.prod\.backupStore\.bucket: "pach-prod" is the cluster's own bucket; expected a separate bucket/],
    ['the backup store in the cluster bucket, spelt as AWS\'s global endpoint', (c) => (c.clusters.prod.backupStore = { bucket: 'pach-prod', endpoint: 'https://s3.amazonaws.com' }), /clusters\.prod\.backupStore\.bucket: "pach-prod" is the cluster's own bucket; expected a separate bucket/],
    ['a backup store that is another cluster\'s bucket', (c) => (c.clusters.staging.backupStore = { bucket: 'pach-prod', endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1' }), /clusters\.staging\.backupStore\.bucket: "pach-prod" is the bucket cluster prod runs on/],
    ['a port given as text', (c) => (c.clusters.prod.postgres.port = 'five'), /clusters\.prod\.postgres\.port: got "five"; expected a number/],
    ['an unknown pause strategy', (c) => (c.clusters.prod.pachyderm.pauseStrategy = 'freeze'), /pauseStrategy: got "freeze"; expected one of "scale", "enterprise"/],
    ['a user name instead of a Slack user id', (c) => (c.clusters.prod.access.operators.users = ['alice']), /access\.operators\.users\[0\]: got "alice"; expected a Slack user id such as U012ABCDEF/],
    ['no clusters', (c) => (c.clusters = {}), /clusters: got \{\}; expected at least one cluster/],
    ['a missing environment variable', (c) => (c.clusters.prod.postgres.password = { env: 'NOT_SET_ANYWHERE' }), /clusters\.prod\.postgres\.password: environment variable NOT_SET_ANYWHERE is not set/],
    ['a missing secret file', (c) => (c.clusters.staging.postgres.password = { file: '/nonexistent/pw' }), /clusters\.staging\.postgres\.password: file "\/nonexistent\/pw" does not exist/],
    ['verify-full without a CA', (c) => delete c.clusters.prod.postgres.sslRootCert, /clusters\.prod\.postgres\.sslRootCert: missing; sslmode verify-full needs the CA certificate/],
    ['neither context nor inCluster', (c) => delete c.clusters.prod.kubernetes.context, /clusters\.prod\.kubernetes\.context: missing; expected the kubeconfig context of this cluster, or `inCluster: true`/],
    ['a bucket name with capitals', (c) => (c.clusters.prod.objectStore.bucket = 'Pach_Prod'), /clusters\.prod\.objectStore\.bucket: got "Pach_Prod"; expected an S3 bucket name/],
    ['a Redis URL with the wrong scheme', (c) => (c.redis.url = 'http://redis:6379'), /redis\.url: has scheme "http:"; expected redis: or rediss:/],
    ['a bad worker selector', (c) => (c.clusters.prod.pachyderm.workerSelector = 'suite=pachyderm,,x'), /workerSelector: got "suite=pachyderm,,x"; expected a Kubernetes label selector/],
    ['an access key id without its secret', (c) => delete c.clusters.prod.objectStore.secretAccessKey, /clusters\.prod\.objectStore: has only one of `accessKeyId` and `secretAccessKey`/],
    ['a bot token of the wrong kind', (c) => (c.slack.botToken = { env: 'S3_SECRET' }), /slack\.botToken: the value does not start with "xoxb-"/],
    ['a schedule with an impossible minute', (c) => (c.clusters.prod.schedules = [{ cron: '61 3 * * *' }]), /clusters\.prod\.schedules\[0\]\.cron: got "61 3 \* \* \*"; expected a cron expression such as "0 3 \* \* \*" .*; Constraint error, got value 61 expected range 0-59/],
    ['a schedule with too few cron fields', (c) => (c.clusters.prod.schedules = [{ cron: '0 3 *' }]), /clusters\.prod\.schedules\[0\]\.cron: got "0 3 \*"; expected a cron expression .*; the cron expression has 3 fields; it needs 5, or 6 with seconds first/],
    ['a schedule in an unknown time zone', (c) => (c.clusters.prod.schedules = [{ cron: '0 3 * * *', timezone: 'Mars/Olympus_Mons' }]), /clusters\.prod\.schedules\[0\]\.timezone: got "Mars\/Olympus_Mons"; expected an IANA time zone such as Europe\/Berlin/],
    ['a negative heads-up', (c) => (c.clusters.prod.schedules = [{ cron: '0 3 * * *', headsUpMinutes: -5 }]), /clusters\.prod\.schedules\[0\]\.headsUpMinutes: got -5; expected a number of minutes, 0 or more/],
    ['a misspelt schedule key', (c) => (c.clusters.prod.schedules = [{ cron: '0 3 * * *', headsUp: 10 }]), /unknown key "headsUp" in clusters\.prod\.schedules\[0\]; expected one of cron, timezone, headsUpMinutes/],
    ['a schedule without its cron', (c) => (c.clusters.prod.schedules = [{ timezone: 'UTC' }]), /clusters\.prod\.schedules\[0\]\.cron: missing; expected a string/],
    ['the same schedule twice', (c) => (c.clusters.prod.schedules = [{ cron: '0 3 * * *', timezone: 'Europe/Berlin' }, { cron: ' 0 3 * * * ', timezone: 'europe/berlin' }]), /clusters\.prod\.schedules\[1\]: repeats schedules\[0\] \("0 3 \* \* \*" in Europe\/Berlin\); expected each schedule once/],
    ['a stale-backup threshold of zero', (c) => (c.clusters.prod.alerts = { staleAfterHours: 0 }), /clusters\.prod\.alerts\.staleAfterHours: got 0; expected/],
    ['a retention that keeps no backup', (c) => (c.clusters.prod.retention = { keepLast: 0 }), /clusters\.prod\.retention\.keepLast: got 0; expected/],
    ['no approval at all for a restore', (c) => (c.clusters.prod.restore = { requiredApprovals: 0 }), /clusters\.prod\.restore\.requiredApprovals: got 0; expected from 1 to 10 approvals/],
    ['more approvals than any restore could want', (c) => (c.clusters.prod.restore = { requiredApprovals: 11 }), /clusters\.prod\.restore\.requiredApprovals: got 11; expected from 1 to 10 approvals/],
    ['a restore request that expires within a minute', (c) => (c.clusters.prod.restore = { requestExpiryMinutes: 1 }), /clusters\.prod\.restore\.requestExpiryMinutes: got 1; expected from 5 to 10080 minutes/],
    [
      'more approvals than there are approvers',
      (c) => {
        c.clusters.prod.access.approvers = { users: ['U0BOB', 'U0CAROL'] };
        c.clusters.prod.restore = { requiredApprovals: 3 };
      },
      /clusters\.prod\.restore\.requiredApprovals: 3 approvals needed but only 2 approvers are named in access\.approvers\.users; name more approvers or a group/,
    ],
    ['a second approval on a cluster without approvers', (c) => (c.clusters.staging.restore = { requiredApprovals: 2 }), /clusters\.staging\.restore\.requiredApprovals: 2 approvals needed but no approvers are named/],
    ['a state database password in its URL', (c) => (c.stateDatabase.url = 'postgres://pachbackup:hunter2@db/pachbackup'), /stateDatabase\.url: holds a password in the URL; secrets are not written in the config file: remove it from the URL and set `stateDatabase\.password: \{ file: \/path \}` \(or `\{ env: VARIABLE \}`\), or give the whole URL by reference/],
    ['a state database password in its query', (c) => (c.stateDatabase.url = 'postgres://pachbackup@db/pachbackup?password=hunter2'), /stateDatabase\.url: holds a credential in the URL's query/],
    ['a Redis password in its URL', (c) => (c.redis.url = 'redis://:hunter2@redis:6379'), /redis\.url: holds a password in the URL; .*set `redis\.password: \{ file: \/path \}`/],
    ['a Redis password given inline in its own field', (c) => (c.redis.password = 'hunter2'), /redis\.password: got a value; expected `\{ env: VARIABLE \}` or `\{ file: \/path\/to\/file \}`/],
    ['S3 credentials in an endpoint', (c) => (c.clusters.staging.objectStore.endpoint = 'http://minio:minio123@minio:9000'), /clusters\.staging\.objectStore\.endpoint: holds a password in the URL; .*secretAccessKey/],
    ['no copies at all', (c) => (c.clusters.prod.backup = { copyConcurrency: 0 }), /clusters\.prod\.backup\.copyConcurrency: got 0; expected from 1 to 256 copies at once per process/],
    ['more copies at once than a process should hold', (c) => (c.clusters.prod.backup = { copyConcurrency: 1000 }), /clusters\.prod\.backup\.copyConcurrency: got 1000; expected from 1 to 256 copies at once per process/],
    ['half a copy', (c) => (c.clusters.prod.backup = { copyConcurrency: 2.5 }), /clusters\.prod\.backup\.copyConcurrency: got 2\.5; expected an integer/],
    ['copies split into a single key range', (c) => (c.clusters.prod.backup = { fanOut: { maxRanges: 1 } }), /clusters\.prod\.backup\.fanOut\.maxRanges: got 1; expected from 2 to 4096 ranges/],
    ['a misspelt fan-out setting', (c) => (c.clusters.prod.backup = { fanOut: { minObject: 5 } }), /unknown key "minObject" in clusters\.prod\.backup\.fanOut; expected one of minObjects, objectsPerRange, maxRanges/],
    ['pachd listed among the deployments to quiesce', (c) => (c.clusters.prod.pachyderm.quiesce = ['pachw', 'pachd']), /clusters\.prod\.pachyderm\.quiesce: lists "pachd", the pachd deployment itself/],
  ];
  for (const [what, breakIt, message] of bad) {
    it(`refuses ${what} with a message naming the key`, () => {
      const config = goodConfig();
      breakIt(config);
      const problems = problemsOf(config);
      expect(problems.join('\n')).toMatch(message);
    });
  }

  it('reads restore approval settings: by default one approval within an hour; an approver group can give any number', () => {
    const defaults = parseConfig(stringify(goodConfig()), { source: 'test.yaml', env });
    expect(defaults.clusters.prod!.restore).toEqual({ requiredApprovals: 1, requestExpiryMinutes: 60 });
    // No approvers at all: restores through Slack are simply not offered, which is not a mistake.
    expect(defaults.clusters.staging!.restore).toEqual({ requiredApprovals: 1, requestExpiryMinutes: 60 });

    const raw = goodConfig();
    raw.clusters.prod.access.approvers = { users: ['U0BOB', 'U0CAROL'] };
    raw.clusters.prod.restore = { requiredApprovals: 2, requestExpiryMinutes: 240 };
    raw.clusters.staging.access = { approvers: { groups: ['S0APPROVERS'] } };
    raw.clusters.staging.restore = { requiredApprovals: 5 };
    const config = parseConfig(stringify(raw), { source: 'test.yaml', env });
    expect(config.clusters.prod!.restore).toEqual({ requiredApprovals: 2, requestExpiryMinutes: 240 });
    expect(config.clusters.staging!.restore).toEqual({ requiredApprovals: 5, requestExpiryMinutes: 60 });
  });

  it('reads schedules with their defaults: UTC, a 30-minute heads-up, zones spelt canonically', () => {
    const raw = goodConfig();
    raw.clusters.prod.schedules = [{ cron: '0 3 * * *', timezone: 'europe/berlin', headsUpMinutes: 0 }, { cron: '*/30 * * * * *' }, { cron: '@weekly', timezone: 'America/New_York', headsUpMinutes: 120 }];
    const config = parseConfig(stringify(raw), { source: 'test.yaml', env });
    expect(config.clusters.prod!.schedules).toEqual([
      { cron: '0 3 * * *', timezone: 'Europe/Berlin', headsUpMinutes: 0 },
      { cron: '*/30 * * * * *', timezone: 'UTC', headsUpMinutes: 30 },
      { cron: '@weekly', timezone: 'America/New_York', headsUpMinutes: 120 },
    ]);
    expect(config.clusters.staging!.schedules).toEqual([]);
  });

  it('reports every problem at once, one line each', () => {
    const config = goodConfig();
    config.clusters.prod.postgres.sslmode = 'strict';
    config.clusters.prod.pachyderm.pauseStrategy = 'freeze';
    config.redis.bogus = true;
    expect(problemsOf(config)).toHaveLength(3);
  });

  it('never repeats a secret back in a message', () => {
    const config = goodConfig();
    config.clusters.prod.postgres.password = 'hunter2-topsecret';
    config.slack.signingSecret = 'another-secret-value';
    expect(problemsOf(config).join('\n')).not.toMatch(/hunter2|another-secret/);
  });

  it('never repeats an inline URL password back', () => {
    const config = goodConfig();
    config.stateDatabase.url = 'postgres://pachbackup:hunter2-in-url@db/pachbackup';
    config.redis.url = 'redis://:hunter2-in-redis@redis:6379';
    expect(problemsOf(config).join('\n')).not.toMatch(/hunter2/);
  });

  it('takes the state database and Redis passwords from their own fields, or the whole URL by reference', () => {
    const raw = goodConfig();
    raw.stateDatabase = { url: 'postgres://pachbackup@db/pachbackup', password: { env: 'PG_PASSWORD' } };
    raw.redis = { url: 'redis://redis:6379', password: { file: passwordFile } };
    const config = parseConfig(stringify(raw), { source: 'test.yaml', env });
    expect(config.stateDatabaseUrl).toBe('postgres://pachbackup@db/pachbackup');
    expect(config.stateDatabasePassword).toBe('pw-from-env');
    expect(config.redis).toMatchObject({ url: 'redis://redis:6379', password: 's3cr3t-from-file' });
    // A URL given by reference may hold its password: the file itself holds none.
    const byReference = parseConfig(stringify({ ...goodConfig(), stateDatabase: { url: { env: 'STATE_DB' } } }), { source: 'test.yaml', env: { ...env, STATE_DB: 'postgres://u:pw@db/pachbackup' } });
    expect(byReference.stateDatabaseUrl).toBe('postgres://u:pw@db/pachbackup');
  });

  it('says what is wrong with a file that is not YAML', () => {
    expect(() => parseConfig('clusters: [unclosed', { source: 'x.yaml', env })).toThrow(/not valid YAML/);
    expect(() => loadConfig('/nonexistent/pachbackup.yaml')).toThrow(/does not exist/);
  });

  it('`pachbackup config check` exits 2 with one line per problem and no stack trace', async () => {
    const file = join(dir, 'bad.yaml');
    const config = goodConfig();
    config.clusters.prod.postgres.sslmode = 'strict';
    config.clusters.prod.kubernetes.namspace = 'x';
    writeFileSync(file, stringify(config));
    const result = await promisify(execFile)(process.execPath, ['bin/pachbackup.js', 'config', 'check', '--config', file], { env: { ...process.env, ...env } }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('clusters.prod.postgres.sslmode: got "strict"');
    expect(result.stderr).toContain('unknown key "namspace"');
    expect(result.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);

    const good = join(dir, 'good.yaml');
    writeFileSync(good, stringify(goodConfig()));
    const ok = await promisify(execFile)(process.execPath, ['bin/pachbackup.js', 'config', 'check', '--config', good], { env: { ...process.env, ...env } });
    expect(ok.stdout).toMatch(/OK — 2 clusters: prod \(context prod-admin, namespace pachyderm\); staging \(in-cluster/);
  });
});
