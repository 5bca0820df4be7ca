import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/log.js';
import { createSecretScrubbingStream } from '../../src/observability/secret-scrub.js';
import { scrubSecretText } from '../../src/secrets/redact-secrets.js';

/** A logger writing JSON lines into memory, as it would to stdout; optionally through the secret scrubber. */
function capture(options: { scrub?: boolean } = {}): { log: Logger; lines: () => Record<string, any>[]; raw: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const log = createLogger({ level: 'debug', destination: options.scrub ? createSecretScrubbingStream(sink) : sink });
  const raw = () => chunks.join('');
  return { log, raw, lines: () => raw().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>) };
}

const PASSWORD = 'pg-Pa55word-0001';
const TOKEN = 'token-0002-abcdef';
const SIGNING_SECRET = 'signing-secret-0003';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const BOT_TOKEN = 'xoxb-1111-2222-abcdefghijklmnop';
const APP_TOKEN = 'xapp-1-A0001-3333-abcdef';
const SECRETS = [PASSWORD, TOKEN, SIGNING_SECRET, SECRET_ACCESS_KEY, BOT_TOKEN, APP_TOKEN];

describe('structured logs', () => {
  it('are JSON lines that carry the run id of a child logger and redact secrets at the configured paths', () => {
    const { log, lines, raw } = capture();
    const run = log.child({ runId: 'prod-20261124-030000', cluster: 'prod' });
    run.child({ step: 'dump-databases' }).info(
      {
        password: PASSWORD,
        token: TOKEN,
        secret: SIGNING_SECRET,
        postgres: { host: 'db.internal', password: PASSWORD },
        clusterConfig: { postgres: { user: 'pachyderm', password: PASSWORD } },
        credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET_ACCESS_KEY },
        backupStore: { credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET_ACCESS_KEY } },
        slack: { botToken: BOT_TOKEN, appToken: APP_TOKEN, signingSecret: SIGNING_SECRET, apiUrl: 'https://slack.com/api/' },
        request: { headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' } },
        headers: { authorization: `Bearer ${BOT_TOKEN}` },
        auth: { token: TOKEN },
      },
      'dumped',
    );
    run.warn({ err: Object.assign(new Error('copy failed'), { code: 'SlowDown' }) }, 'object copy warning');

    const [info, warn] = lines();
    expect(info).toMatchObject({ level: 30, name: 'pachbackup', runId: 'prod-20261124-030000', cluster: 'prod', step: 'dump-databases', msg: 'dumped' });
    expect(info).toMatchObject({
      password: '[redacted]',
      token: '[redacted]',
      secret: '[redacted]',
      postgres: { host: 'db.internal', password: '[redacted]' },
      clusterConfig: { postgres: { user: 'pachyderm', password: '[redacted]' } },
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: '[redacted]' },
      backupStore: { credentials: { secretAccessKey: '[redacted]' } },
      slack: { botToken: '[redacted]', appToken: '[redacted]', signingSecret: '[redacted]', apiUrl: 'https://slack.com/api/' },
      request: { headers: { authorization: '[redacted]', 'content-type': 'application/json' } },
      headers: { authorization: '[redacted]' },
      auth: { token: '[redacted]' },
    });
    expect(warn).toMatchObject({ level: 40, runId: 'prod-20261124-030000', err: { message: 'copy failed', code: 'SlowDown', type: 'Error' } });
    for (const secret of SECRETS) expect(raw()).not.toContain(secret);
  });

  // Secrets nested at any depth, by name and by shape (src/secrets/redact-secrets.ts).
  it('redact a whole config when it is logged (nested deeper than the paths reach, URLs with passwords)', () => {
    const { log, raw } = capture();
    log.info({
      config: {
        stateDatabaseUrl: `postgres://pachbackup:${PASSWORD}@db.internal:5432/pachbackup`,
        redis: { url: `redis://:${PASSWORD}@redis:6379`, prefix: 'pachbackup' },
        slack: { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, appToken: APP_TOKEN },
        clusters: { prod: { postgres: { password: PASSWORD }, objectStore: { credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET_ACCESS_KEY } } } },
      },
    }, 'config loaded');
    for (const secret of SECRETS.filter((s) => s !== TOKEN)) expect(raw()).not.toContain(secret);
  });

  it('redact secrets by shape at any depth and in a child logger\'s bindings', () => {
    const { log, raw } = capture();
    const child = log.child({ cluster: 'prod', store: { url: `https://store:${PASSWORD}@minio.internal:9000` } });
    child.info({ values: { pachd: { extraEnv: [{ name: 'AWS_SECRET_ACCESS_KEY', value: SECRET_ACCESS_KEY }], deeper: { a: { b: { c: { rootToken: TOKEN } } } } } } }, 'values read');
    for (const secret of [PASSWORD, SECRET_ACCESS_KEY, TOKEN]) expect(raw()).not.toContain(secret);
    expect(raw()).toContain('AWS_SECRET_ACCESS_KEY');
  });

  it('redact secrets logged at the top level and capitalised Authorization headers', () => {
    const { log, raw } = capture();
    log.info({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, appToken: APP_TOKEN, secretAccessKey: SECRET_ACCESS_KEY }, 'slack settings');
    log.info({ request: { headers: { Authorization: `Bearer ${TOKEN}` } } }, 'outgoing request');
    for (const secret of [BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, SECRET_ACCESS_KEY, TOKEN]) expect(raw()).not.toContain(secret);
  });
});

describe('the secret-scrubbing log destination', () => {
  it('cuts secrets out of text that path redaction cannot see, keeping the lines valid JSON with their run id', () => {
    const { log, lines, raw } = capture({ scrub: true });
    const run = log.child({ runId: 'prod-20261124-030000' });
    run.error({ err: new Error(`cannot connect to postgres://pachbackup:${PASSWORD}@db.internal:5432/pachbackup`) }, 'state database unavailable');
    run.warn({ url: `https://slack.com/api/chat.postMessage?channel=C0OPS&token=${BOT_TOKEN}` }, 'Slack call failed');
    run.info(`Socket Mode with ${APP_TOKEN}; sent Authorization: Bearer ${TOKEN}`);
    run.info({ download: `https://bucket.s3.amazonaws.com/backups/x.dump?X-Amz-Credential=AKIAEXAMPLE%2F20261124&X-Amz-Signature=${'f'.repeat(64)}` }, 'presigned');
    run.info({ redis: `redis://:${PASSWORD}@redis:6379/0` }, 'connected');

    const all = raw();
    for (const secret of [PASSWORD, BOT_TOKEN, APP_TOKEN, TOKEN, 'f'.repeat(64)]) expect(all).not.toContain(secret);
    const parsed = lines();
    expect(parsed).toHaveLength(5);
    expect(parsed.every((l) => l.runId === 'prod-20261124-030000')).toBe(true);
    expect(parsed[0]!.err.message).toBe('cannot connect to postgres://pachbackup:[redacted]@db.internal:5432/pachbackup');
    expect(parsed[1]!.url).toBe('https://slack.com/api/chat.postMessage?channel=C0OPS&token=[redacted]');
    expect(parsed[2]!.msg).toBe('Socket Mode with xapp-[redacted]; sent Authorization: Bearer [redacted]');
    expect(parsed[4]!.redis).toBe('redis://:[redacted]@redis:6379/0');
  });

  it('leaves ordinary text alone', () => {
    const text = 'copied 12 objects from s3://pachyderm-prod-data to https://minio.internal:9000/backups for alice@example.com; Basic auth is off';
    expect(scrubSecretText(text)).toBe(text);
  });
});
