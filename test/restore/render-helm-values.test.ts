import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { helmInstallCommand, helmValuesSource, redactHelmValues, redactHelmValuesFile, renderRestoredHelmValues, rewriteStorageUrl, type HelmRestoreTargets } from '../../src/restore/render-helm-values.js';

const productionValues = () => ({
  deployTarget: 'CUSTOM',
  global: {
    postgresql: {
      postgresqlHost: 'prod-db.internal',
      postgresqlPort: '5432',
      postgresqlUsername: 'pachyderm',
      postgresqlDatabase: 'pachyderm',
      postgresqlExistingSecretName: 'pachyderm-postgresql',
      postgresqlExistingSecretKey: 'postgresql-password',
      identityDatabaseFullNameOverride: 'dex',
    },
  },
  postgresql: { enabled: false },
  pachd: { storage: { backend: 'AMAZON', storageURL: 's3://pachyderm-data?endpoint=minio.storage:9000&disableSSL=true&region=us-east-1' }, storageGCPeriod: 60 },
  console: { enabled: true },
});

const targets = (over: Partial<HelmRestoreTargets> = {}): HelmRestoreTargets => ({
  postgres: { host: 'restore-db.internal', port: 6432 },
  pachydermDatabase: 'pachyderm_restored_20261124',
  dexDatabase: 'dex_restored_20261124',
  objects: { bucket: 'pachyderm-restored', prefix: '' },
  ...over,
});

describe('Helm values pointed at a restored state', () => {
  it('swaps the database names, server and bucket, keeping the storage URL\'s query and everything else', () => {
    const values = productionValues();
    const rendered = renderRestoredHelmValues(values, targets(), '2.11.6');
    expect(rendered.problems).toEqual([]);
    const pg = (rendered.values.global as any).postgresql;
    expect(pg).toMatchObject({
      postgresqlHost: 'restore-db.internal',
      postgresqlPort: '6432',
      postgresqlDatabase: 'pachyderm_restored_20261124',
      identityDatabaseFullNameOverride: 'dex_restored_20261124',
      postgresqlExistingSecretName: 'pachyderm-postgresql',
      postgresqlUsername: 'pachyderm',
    });
    expect((rendered.values.pachd as any).storage.storageURL).toBe('s3://pachyderm-restored?endpoint=minio.storage:9000&disableSSL=true&region=us-east-1');
    expect((rendered.values.pachd as any).storageGCPeriod).toBe(60);
    expect(parse(rendered.yaml)).toEqual(rendered.values);
    expect(rendered.changes.map((c) => c.path).sort()).toEqual(
      ['global.postgresql.identityDatabaseFullNameOverride', 'global.postgresql.postgresqlDatabase', 'global.postgresql.postgresqlHost', 'global.postgresql.postgresqlPort', 'pachd.storage.storageURL'].sort(),
    );
    expect(values.global.postgresql.postgresqlHost).toBe('prod-db.internal'); // the input is not modified
  });

  it('uses a new credentials Secret when one is given', () => {
    const rendered = renderRestoredHelmValues(productionValues(), targets({ credentialsSecret: 'restore-pg' }), '2.11.6');
    expect((rendered.values.global as any).postgresql.postgresqlExistingSecretName).toBe('restore-pg');
  });

  it('refuses a key prefix for the AMAZON backend, which ignores it, and accepts one for GOOGLE through gocloud\'s ?prefix=', () => {
    const amazon = renderRestoredHelmValues(productionValues(), targets({ objects: { bucket: 'shared', prefix: 'restored/prod' } }), '2.11.6');
    expect(amazon.problems.join()).toMatch(/reads its chunks from the root of its bucket/);
    expect(amazon.storage).toEqual({ style: 'storage-url', backend: 'AMAZON', prefixSupported: false });

    const google = { ...productionValues(), deployTarget: 'GOOGLE', pachd: { storage: { storageURL: 'gs://pachyderm-data' } } };
    const rendered = renderRestoredHelmValues(google, targets({ objects: { bucket: 'shared', prefix: 'restored/prod' } }), '2.11.6');
    expect(rendered.problems).toEqual([]);
    expect((rendered.values.pachd as any).storage.storageURL).toBe('gs://shared?prefix=restored/prod/');
  });

  it('replaces endpoint, disableSSL and region only when the target bucket is on another endpoint', () => {
    expect(rewriteStorageUrl('s3://a?endpoint=minio:9000&disableSSL=true&region=us-east-1', { bucket: 'b', prefix: '', endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1' })).toBe(
      's3://b?endpoint=s3.eu-west-1.amazonaws.com&region=eu-west-1',
    );
    expect(rewriteStorageUrl('s3://a?region=us-east-1&prefix=old/', { bucket: 'b', prefix: '' })).toBe('s3://b?region=us-east-1');
  });

  it('sets the per-backend bucket keys of charts before 2.11 (without gocdk)', () => {
    const values = { deployTarget: 'AMAZON', pachd: { storage: { amazon: { bucket: 'old', region: 'us-east-1' } } } };
    const rendered = renderRestoredHelmValues(values, targets(), '2.8.4');
    expect(rendered.storage.style).toBe('legacy');
    expect((rendered.values.pachd as any).storage.amazon).toEqual({ bucket: 'pachyderm-restored', region: 'us-east-1' });
    expect((rendered.values.pachd as any).storage.storageURL).toBeUndefined();

    const minio = renderRestoredHelmValues({ pachd: { storage: { backend: 'MINIO', minio: { bucket: 'old', endpoint: 'minio:9000' } } } }, targets({ objects: { bucket: 'new', prefix: '', endpoint: 'http://minio2:9000' } }), '2.7.0');
    expect((minio.values.pachd as any).storage.minio).toEqual({ bucket: 'new', endpoint: 'minio2:9000', secure: 'false' });

    const gocdk = renderRestoredHelmValues({ deployTarget: 'AMAZON', pachd: { storage: { gocdkEnabled: true, storageURL: 's3://old?region=us-east-1' } } }, targets(), '2.10.2');
    expect((gocdk.values.pachd as any).storage.storageURL).toBe('s3://pachyderm-restored?region=us-east-1');
  });

  it('warns about the chart\'s bundled PostgreSQL and builds a storage URL when the values have none', () => {
    const rendered = renderRestoredHelmValues({}, targets({ objects: { bucket: 'b', prefix: '', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1' } }), undefined);
    expect(rendered.warnings.join('\n')).toMatch(/bundled PostgreSQL/);
    expect((rendered.values.pachd as any).storage.storageURL).toBe('s3://b?region=us-east-1&endpoint=127.0.0.1:9000&disableSSL=true');
  });

  it('prints the helm command, with a placeholder when the chart version is unknown', () => {
    expect(helmInstallCommand({ release: 'pachyderm', namespace: 'pachyderm', chartVersion: '2.11.6' })).toBe(
      'helm upgrade --install pachyderm pachyderm/pachyderm --version 2.11.6 -n pachyderm -f restored-values.yaml',
    );
    expect(helmInstallCommand({ release: 'pachyderm', namespace: 'ml prod', chartVersion: undefined })).toBe(
      "helm upgrade --install pachyderm pachyderm/pachyderm --version <CHART_VERSION> -n 'ml prod' -f restored-values.yaml",
    );
  });

  it('redacts secrets in the copy a plan shows, and only there, pointing at the file in the store', () => {
    const values = { global: { postgresql: { postgresqlPassword: 'hunter2', postgresqlHost: 'db' } }, pachd: { rootToken: 'abc', storage: { amazon: { id: 'AKIA', secret: 's3cr3t', bucket: 'b' } } }, oidc: { upstreamIDPs: [{ config: { clientSecret: 'x', clientID: 'pachyderm' } }] } };
    const source = helmValuesSource({ bucket: 'store' }, 'pachbackup/backups/prod/prod-1/helm-values.yaml', 'prod-1');
    const hidden = '<secret: in s3://store/pachbackup/backups/prod/prod-1/helm-values.yaml; print with `pachbackup values prod-1`>';
    expect(redactHelmValues(values, source)).toEqual({
      global: { postgresql: { postgresqlPassword: hidden, postgresqlHost: 'db' } },
      pachd: { rootToken: hidden, storage: { amazon: { id: 'AKIA', secret: hidden, bucket: 'b' } } },
      oidc: { upstreamIDPs: [{ config: { clientSecret: hidden, clientID: 'pachyderm' } }] },
    });
    expect((renderRestoredHelmValues(values, targets(), '2.11.6').values.global as any).postgresql.postgresqlPassword).toBe('hunter2');
  });

  it('redacts a values file that leaves the store, keeping its header', () => {
    const source = helmValuesSource({ bucket: 'store' }, 'k/restores/r-1/helm-values.yaml', 'prod-1', 'r-1');
    const file = '# Helm values restoring backup prod-1\n# Save as restored-values.yaml\npachd:\n  rootToken: abc\n  extraEnv:\n    - name: AWS_SECRET_ACCESS_KEY\n      value: s3cr3t\n';
    const redacted = redactHelmValuesFile(file, source);
    expect(redacted.startsWith('# Helm values restoring backup prod-1\n# Save as restored-values.yaml\n')).toBe(true);
    expect(redacted).not.toMatch(/abc|s3cr3t/);
    expect(redacted).toContain('pachbackup values prod-1 --restore r-1');
    expect(redacted).toContain('name: AWS_SECRET_ACCESS_KEY');
  });
});
