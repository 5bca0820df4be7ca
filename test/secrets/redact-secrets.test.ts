import { describe, expect, it } from 'vitest';
import { inlineUrlCredential, isSecretName, redactSecrets, scrubSecretText, secretPlaceholder } from '../../src/secrets/redact-secrets.js';

const SOURCE = { location: 's3://store/pachbackup/backups/prod/prod-1/helm-values.yaml', command: 'pachbackup values prod-1' };
const HIDDEN = secretPlaceholder(SOURCE);

/** Helm values as operators write them: secrets by name, by shape, and references that must survive. */
function plantedValues() {
  return {
    global: {
      postgresql: {
        postgresqlHost: 'db.internal',
        postgresqlPassword: 'planted-pg-password',
        postgresqlPostgresPassword: 'planted-root-password',
        postgresqlExistingSecretName: 'pachyderm-postgres',
        postgresqlExistingSecretKey: 'password',
        postgresqlSSLSecret: 'pg-tls',
      },
      proxy: 'http://proxyuser:planted-proxy-pass@proxy.internal:3128',
      imagePullSecrets: ['regcred'],
    },
    pachd: {
      rootToken: 'planted-root-token',
      rootTokenSecretName: 'pachyderm-root-token',
      enterpriseLicenseKey: 'planted-license-key',
      enterpriseLicenseKeySecretName: 'pachyderm-license',
      enterpriseSecret: 'planted-enterprise-secret',
      oauthClientID: 'pachd',
      oauthClientSecret: 'planted-oauth-secret',
      storage: {
        amazon: { bucket: 'pach-data', id: 'AKIAEXAMPLE', secret: 'planted-aws-secret', token: '' },
        storageURL: 's3://pach-data?endpoint=minio:9000&secret_access_key=planted-query-secret&region=us-east-1',
      },
      extraEnv: [
        { name: 'AWS_SECRET_ACCESS_KEY', value: 'planted-env-secret' },
        { name: 'GITHUB_TOKEN', value: 'planted-env-token' },
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      ],
      args: ['--db-password=planted-arg-password', '--verbose'],
      tls: { enabled: true, secretName: 'pachd-tls', newSecret: { create: false, crt: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', key: '-----BEGIN PRIVATE KEY-----\nplanted-pem\n-----END PRIVATE KEY-----\n' } },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'pachyderm' }],
    },
    oidc: {
      upstreamIDPs: [{ id: 'okta', type: 'oidc', config: { clientID: 'pachyderm', clientSecret: 'planted-oidc-secret', issuer: 'https://okta.example.com' } }],
      IDTokenExpiry: '24h',
      clientSecretName: 'oidc',
      clientSecretKey: 'client-secret',
    },
    console: { config: { oauthClientSecretSecretName: 'console-oauth' } },
    auth: { enabled: true },
  };
}

const PLANTED = [
  'planted-pg-password', 'planted-root-password', 'planted-proxy-pass', 'planted-root-token', 'planted-license-key', 'planted-enterprise-secret', 'planted-oauth-secret',
  'planted-aws-secret', 'planted-query-secret', 'planted-env-secret', 'planted-env-token', 'planted-arg-password', 'planted-pem', 'planted-oidc-secret',
];

describe('redacting secrets', () => {
  it('hides every planted secret, by name and by shape, with a placeholder that says where the value is', () => {
    const redacted = redactSecrets(plantedValues(), SOURCE);
    const text = JSON.stringify(redacted);
    for (const secret of PLANTED) expect(text).not.toContain(secret);
    expect(redacted.global.postgresql.postgresqlPassword).toBe(HIDDEN);
    expect(HIDDEN).toContain(SOURCE.location);
    expect(HIDDEN).toContain('pachbackup values prod-1');
    expect(redacted.pachd.extraEnv[0]).toEqual({ name: 'AWS_SECRET_ACCESS_KEY', value: HIDDEN });
    expect(redacted.global.proxy).toBe(`http://proxyuser:${HIDDEN}@proxy.internal:3128`);
    expect(redacted.pachd.storage.storageURL).toBe(`s3://pach-data?endpoint=minio:9000&secret_access_key=${HIDDEN}&region=us-east-1`);
    expect(redacted.pachd.args).toEqual([`--db-password=${HIDDEN}`, '--verbose']);
    expect(redacted.pachd.tls.newSecret.key).toBe(HIDDEN);
  });

  it('leaves references, identifiers and ordinary settings as they are', () => {
    const original = plantedValues();
    const redacted = redactSecrets(original, SOURCE);
    expect(redacted.global.postgresql).toMatchObject({
      postgresqlHost: 'db.internal',
      postgresqlExistingSecretName: 'pachyderm-postgres',
      postgresqlExistingSecretKey: 'password',
      postgresqlSSLSecret: 'pg-tls',
    });
    expect(redacted.global.imagePullSecrets).toEqual(['regcred']);
    expect(redacted.pachd).toMatchObject({ rootTokenSecretName: 'pachyderm-root-token', enterpriseLicenseKeySecretName: 'pachyderm-license', oauthClientID: 'pachd' });
    expect(redacted.pachd.storage.amazon).toEqual({ bucket: 'pach-data', id: 'AKIAEXAMPLE', secret: HIDDEN, token: '' });
    expect(redacted.pachd.extraEnv.slice(2)).toEqual(original.pachd.extraEnv.slice(2)); // LOG_LEVEL and a secretKeyRef
    expect(redacted.pachd.tls).toMatchObject({ enabled: true, secretName: 'pachd-tls', newSecret: { create: false, crt: original.pachd.tls.newSecret.crt } });
    expect(redacted.pachd.tolerations).toEqual(original.pachd.tolerations);
    expect(redacted.oidc).toMatchObject({ IDTokenExpiry: '24h', clientSecretName: 'oidc', clientSecretKey: 'client-secret' });
    expect(redacted.oidc.upstreamIDPs[0]).toMatchObject({ id: 'okta', config: { clientID: 'pachyderm', clientSecret: HIDDEN, issuer: 'https://okta.example.com' } });
    expect(redacted.console).toEqual(original.console);
    expect(redacted.auth).toEqual({ enabled: true });
    // The input is not changed.
    expect(original.global.postgresql.postgresqlPassword).toBe('planted-pg-password');
  });

  it('is idempotent: redacting redacted data changes nothing', () => {
    const once = redactSecrets(plantedValues(), SOURCE);
    expect(redactSecrets(once, SOURCE)).toEqual(once);
    expect(redactSecrets(once)).toEqual(once);
  });

  it('keeps the names pachbackup files its own data under', () => {
    for (const name of ['key', 'storeKey', 'manifestKey', 'valuesKey', 'firstKey', 'keys', 'accessKeyId', 'credentialsSecret', 'secretKeyRef', 'continueToken' + 'Expiry', 'requestedBy', 'sha256']) {
      expect(isSecretName(name), name).toBe(false);
    }
    for (const name of ['password', 'botToken', 'signingSecret', 'appToken', 'secretAccessKey', 'authorization', 'Authorization', 'apiKey', 'API_KEY', 'private_key', 'licenseKey', 'cred', 'pass']) {
      expect(isSecretName(name), name).toBe(true);
    }
  });

  it('scrubs secret shapes in text and leaves ordinary text alone', () => {
    expect(scrubSecretText('cannot connect to postgres://pachbackup:hunter2@db:5432/state')).toBe('cannot connect to postgres://pachbackup:[redacted]@db:5432/state');
    expect(scrubSecretText('redis://:hunter2@redis:6379/0')).toBe('redis://:[redacted]@redis:6379/0');
    expect(scrubSecretText('set PGPASSWORD=hunter2 and go')).toBe('set PGPASSWORD=[redacted] and go');
    const ordinary = 'copied 12 objects from s3://pachyderm-prod-data to https://minio.internal:9000/backups for alice@example.com as postgres://pachbackup@db/state; Basic auth is off';
    expect(scrubSecretText(ordinary)).toBe(ordinary);
  });

  it('tells a URL that carries a credential inline', () => {
    expect(inlineUrlCredential('postgres://pachbackup:hunter2@db/state')).toBe('password');
    expect(inlineUrlCredential('redis://:hunter2@redis:6379')).toBe('password');
    expect(inlineUrlCredential('postgres://pachbackup@db/state?password=hunter2')).toBe('query');
    expect(inlineUrlCredential('postgres://pachbackup@db/state?sslmode=verify-full')).toBeUndefined();
    expect(inlineUrlCredential('redis://redis:6379')).toBeUndefined();
  });
});
