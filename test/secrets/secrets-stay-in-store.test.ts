import { Writable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { defaultHelmValues } from '../../src/sandbox/kube-sim/index.js';
import { dropDatabaseIfExists } from '../../src/restore/target-databases.js';
import { removeBucket } from '../restore/restore-fixtures.js';
import { runCli } from '../support/run-cli.js';
import { uniqueName } from '../support/services.js';
import { ALICE, createSlackFixture, OPS, type SlackFixture } from '../support/slack-fixture.js';

const CAROL = 'U0APR1';

/** Secrets an operator's Helm release holds, each findable by a unique marker. */
const PLANTED = {
  postgresqlPassword: 'planted-pg-password-1a7',
  amazonSecret: 'planted-aws-secret-2b8',
  rootToken: 'planted-root-token-3c9',
  enterpriseLicenseKey: 'planted-license-key-4d0',
  oidcClientSecret: 'planted-oidc-secret-5e1',
  extraEnvSecret: 'planted-env-secret-6f2',
  urlPassword: 'planted-url-password-7a3',
};

/** The sandbox's release with the secrets planted, by name and by shape, next to references that must survive. */
function plantedHelmValues(): Record<string, any> {
  const values = defaultHelmValues() as Record<string, any>;
  values.global.postgresql.postgresqlPassword = PLANTED.postgresqlPassword;
  values.global.proxy = `http://proxyuser:${PLANTED.urlPassword}@proxy.internal:3128`;
  values.pachd.storage.amazon = { id: 'AKIAPLANTEDID', secret: PLANTED.amazonSecret };
  values.pachd.rootToken = PLANTED.rootToken;
  values.pachd.enterpriseLicenseKey = PLANTED.enterpriseLicenseKey;
  values.pachd.extraEnv = [
    { name: 'AWS_SECRET_ACCESS_KEY', value: PLANTED.extraEnvSecret },
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'pachyderm-db', key: 'password' } } },
  ];
  values.oidc = { upstreamIDPs: [{ id: 'okta', name: 'okta', type: 'oidc', config: { clientID: 'pachyderm', clientSecret: PLANTED.oidcClientSecret, issuer: 'https://okta.example.com' } }] };
  return values;
}

describe('secrets never leave the backup store', () => {
  let f: SlackFixture;
  const logLines: string[] = [];
  const databases: string[] = [];
  const buckets: string[] = [];
  let backupId: string;
  let cliOutput = '';

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        logLines.push(String(chunk));
        callback();
      },
    });
    f = await createSlackFixture({
      objects: 8,
      helmValues: plantedHelmValues(),
      log: createLogger({ name: 'pachbackup-serve', level: 'debug', destination: sink }),
      editConfig: (config) => void config.clusters.test.access.operators.users.push(CAROL),
    });

    // A backup and a restore through Slack, as people would do them.
    backupId = await f.backupThroughSlack();
    await f.finished(backupId);
    const suffix = uniqueName('s').replace(/-/g, '_');
    const bucket = uniqueName('restored');
    databases.push(`${f.pachydermDb.name}_${suffix}`, `${f.dexDb.name}_${suffix}`);
    buckets.push(bucket);
    await f.sim.driver.slashCommand({ userId: ALICE, channelId: OPS, text: 'restore test' });
    await f.sim.waitForCall((c) => c.method === 'views.open', { description: 'the restore modal' });
    const modal = f.sim.workspace.modalStack(ALICE).at(-1)!;
    await f.sim.driver.submitView({
      userId: ALICE,
      viewId: modal.id,
      values: { backup: { backup: backupId }, target: { target: 'test' }, databases: { databases: 'new' }, suffix: { suffix }, objects: { objects: 'bucket' }, bucket: { bucket }, confirm: { confirm: 'test' } },
    });
    const plan = await f.sim.waitForMessage((m) => m.channel === OPS && /Restore request \S+:/.test(m.text ?? ''), { timeoutMs: 60_000, description: 'the restore plan' });
    const requestId = /Restore request (\S+):/.exec(plan.text ?? '')![1]!;
    await f.sim.driver.clickButton({ userId: CAROL, message: { channel: OPS, ts: plan.ts }, actionId: 'restore_approve' });
    const summary = await f.sim.waitForMessage((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && (m.text ?? '').includes(`Restore ${requestId} of`), { timeoutMs: 120_000, description: 'the restore summary' });
    expect(summary.text).toMatch(/is complete/);

    // And the CLI twins, for scripts (--json).
    const cliSuffix = uniqueName('c').replace(/-/g, '_');
    const cliBucket = uniqueName('restored');
    databases.push(`${f.pachydermDb.name}_${cliSuffix}`, `${f.dexDb.name}_${cliSuffix}`);
    buckets.push(cliBucket);
    const runs = [
      await runCli(['backup', '--config', f.configFile, '--cluster', 'test', '--json']),
      await runCli(['show', backupId, '--config', f.configFile, '--json']),
      await runCli(['restore', backupId, '--config', f.configFile, '--cluster', 'test', '--database-suffix', cliSuffix, '--target-bucket', cliBucket, '--yes', '--json']),
    ];
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    cliOutput = runs.map((r) => `${r.stdout}\n${r.stderr}`).join('\n');
  }, 300_000);

  afterAll(async () => {
    if (f) {
      for (const d of databases) await dropDatabaseIfExists(f.cluster.postgres, d).catch(() => undefined);
      for (const b of buckets) await removeBucket(f.clusterBucket.s3, b).catch(() => undefined);
    }
    await f?.cleanup();
  });

  /** Everything Slack received: every Web API call's arguments, every message, ephemeral and file with its bytes. */
  function everythingSlackReceived(): string {
    const snapshot = f.sim.snapshot();
    const files = snapshot.files.map((file) => f.sim.workspace.file(file.id)?.bytes?.toString('utf8') ?? '');
    return [JSON.stringify(f.sim.calls()), JSON.stringify(snapshot), ...files].join('\n');
  }

  /** Every row of every table of the state database, as text. */
  async function stateDatabaseDump(): Promise<string> {
    const { rows: tables } = await f.state.pool.query<{ name: string }>(`SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public'`);
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['runs', 'run_steps', 'audit', 'restore_requests']));
    const dump: string[] = [];
    for (const { name } of tables) {
      const { rows } = await f.state.pool.query(`SELECT row_to_json(t)::text AS row FROM ${name} t`);
      dump.push(...rows.map((r: { row: string }) => `${name}: ${r.row}`));
    }
    return dump.join('\n');
  }

  /** Every key pachbackup keeps in Redis, with its value whatever its type. */
  async function redisDump(): Promise<string> {
    const redis = f.state.redis;
    const keys = await redis.keys(`*${f.config.redis.prefix}*`); // its own keys and BullMQ's (bull:<prefix>-operations:…)
    expect(keys.length).toBeGreaterThan(0);
    const dump: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string' ? await redis.get(key)
        : type === 'hash' ? await redis.hgetall(key)
        : type === 'list' ? await redis.lrange(key, 0, -1)
        : type === 'set' ? await redis.smembers(key)
        : type === 'zset' ? await redis.zrange(key, 0, -1)
        : type === 'stream' ? await redis.xrange(key, '-', '+')
        : null;
      dump.push(`${key} (${type}): ${JSON.stringify(value)}`);
    }
    return dump.join('\n');
  }

  const PLACEHOLDER = /<secret: in s3:\/\/[^ ]+\/helm-values\.yaml; print with `pachbackup values [^`]+`>/;

  for (const [where, read, placeholder] of [
    ['Slack (messages, calls, uploaded files)', () => everythingSlackReceived(), true],
    ['the app and worker logs', () => logLines.join(''), false],
    ['every table of the state database', () => stateDatabaseDump(), true],
    // Jobs carry ids, not plans (see job-authority): Redis holds no values at all, so no placeholder either.
    ['every key in Redis', () => redisDump(), false],
    ['the CLI with --json', () => cliOutput, true],
  ] as const) {
    it(`keeps every planted secret out of ${where}${placeholder ? ', showing where it is instead' : ''}`, async () => {
      const text = await read();
      expect(text.length).toBeGreaterThan(0);
      for (const [name, secret] of Object.entries(PLANTED)) expect(text.includes(secret), `${name} found in ${where}`).toBe(false);
      if (placeholder) expect(text).toMatch(PLACEHOLDER);
    });
  }

  it('keeps the references and the non-secret values in what Slack received', () => {
    const file = f.sim.snapshot().files.find((x) => x.name === 'restored-values.yaml');
    expect(file?.preview).toBeDefined();
    const values = file!.preview!;
    expect(values).toContain('postgresqlExistingSecretName: pachyderm-postgresql');
    expect(values).toContain('secretKeyRef');
    expect(values).toContain('clientID: pachyderm');
    expect(values).toContain('proxyuser');
    expect(values).toMatch(PLACEHOLDER);
  });

  it('keeps the full values in the backup store, and `pachbackup values` prints them for someone with access to it', async () => {
    const manifest = (await f.deps('x').catalog.readManifest('test', backupId))!;
    const stored = await (await f.backupBucket.s3.send(new GetObjectCommand({ Bucket: f.backupBucket.name, Key: manifest.helmValues!.key }))).Body!.transformToString();
    for (const secret of Object.values(PLANTED)) expect(stored).toContain(secret);
    const printed = await runCli(['values', backupId, '--config', f.configFile]);
    expect(printed.code, printed.stderr).toBe(0);
    for (const secret of Object.values(PLANTED)) expect(printed.stdout).toContain(secret);
  });
});
