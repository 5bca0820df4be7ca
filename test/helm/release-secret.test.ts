import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PachbackupError } from '../../src/errors.js';
import {
  HELM_RELEASE_SECRET_TYPE,
  buildHelmReleaseSecret,
  decodeHelmRelease,
  encodeHelmRelease,
  helmReleaseSecretName,
  helmReleaseSelector,
  type HelmRelease,
} from '../../src/helm/release-secret.js';
import type { KubeSimulator } from '../../src/sandbox/kube-sim/index.js';
import { NS, clientsFor, startTestSimulator } from '../sandbox/kube-sim/kube-sim-harness.js';

function release(overrides: Partial<HelmRelease> = {}): HelmRelease {
  return {
    name: 'prod',
    namespace: NS,
    version: 7,
    info: { status: 'deployed', first_deployed: '2026-01-02T03:04:05Z', last_deployed: '2026-03-04T05:06:07Z', description: 'Upgrade complete' },
    config: {
      global: { postgresql: { postgresqlHost: 'db.internal', postgresqlPort: '5432', postgresqlDatabase: 'pachyderm', postgresqlExistingSecretName: 'pg' } },
      pachd: { storage: { storageURL: 's3://prod-bucket?region=eu-west-1' } },
      postgresql: { enabled: false },
    },
    chart: { metadata: { name: 'pachyderm', version: '2.11.6', appVersion: '2.11.6' }, values: { pachd: { enabled: true } } },
    manifest: '---\nkind: Deployment\n',
    ...overrides,
  };
}

function integrityError(fn: () => unknown): PachbackupError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PachbackupError) return err;
    throw err;
  }
  throw new Error('expected decodeHelmRelease to throw');
}

describe('Helm release Secret codec', () => {
  let sim: KubeSimulator;

  beforeEach(async () => {
    sim = await startTestSimulator({ seed: { workers: [] } });
  });

  afterEach(async () => {
    await sim.close();
  });

  it('round-trips a release through a Secret read back with client-node', async () => {
    const { core } = clientsFor(sim);
    const original = release();
    const secret = buildHelmReleaseSecret(original);
    await core.createNamespacedSecret({ namespace: NS, body: secret });

    const read = await core.readNamespacedSecret({ name: 'sh.helm.release.v1.prod.v7', namespace: NS });
    expect(read.type).toBe(HELM_RELEASE_SECRET_TYPE);
    expect(read.metadata?.labels).toEqual({ name: 'prod', owner: 'helm', status: 'deployed', version: '7' });
    const decoded = decodeHelmRelease(read.data?.release ?? '');
    expect(decoded).toEqual(original);
    expect(decoded.config).toEqual(original.config);
    expect(decoded.chart.metadata.version).toBe('2.11.6');
  });

  it('decodes the seeded Pachyderm release and finds the deployed revision by label', async () => {
    const { core } = clientsFor(sim);
    const secrets = await core.listNamespacedSecret({ namespace: NS, labelSelector: `${helmReleaseSelector('pachyderm')},status=deployed` });
    expect(secrets.items.map((s) => s.metadata?.name)).toEqual([helmReleaseSecretName('pachyderm', 2)]);
    const deployed = decodeHelmRelease(secrets.items[0]?.data?.release ?? '');
    expect(deployed.info.status).toBe('deployed');
    expect(deployed.chart.metadata).toMatchObject({ name: 'pachyderm', version: '2.11.6', appVersion: '2.11.6' });
    expect(deployed.config).toEqual(sim.seeded?.helmValues);
    const previous = decodeHelmRelease((await core.readNamespacedSecret({ name: helmReleaseSecretName('pachyderm', 1), namespace: NS })).data?.release ?? '');
    expect(previous.info.status).toBe('superseded');
    expect(previous.chart.metadata.version).toBe('2.11.5');
  });

  it('stores exactly what Helm stores: base64 of gzipped JSON inside the Secret data', () => {
    const encoded = encodeHelmRelease(release());
    const helmLayer = Buffer.from(encoded, 'base64').toString('latin1');
    expect(helmLayer.startsWith('H4sI')).toBe(true); // base64 of the gzip magic bytes
    // What `kubectl get secret -o jsonpath={.data.release} | base64 -d` prints is accepted too.
    expect(decodeHelmRelease(helmLayer)).toEqual(release());
  });

  it('accepts releases stored without compression, as Helm does', () => {
    const json = JSON.stringify(release({ config: {} }));
    const apiValue = Buffer.from(Buffer.from(json).toString('base64')).toString('base64');
    expect(decodeHelmRelease(apiValue).config).toEqual({});
  });

  it('rejects junk with a clear integrity error', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['not base64 at all!', /not valid base64/],
      [Buffer.from('hello world, just text').toString('base64'), /not valid base64|JSON/],
      [Buffer.from(Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3]).toString('base64')).toString('base64'), /gzip/],
      [Buffer.from(gzipSync(Buffer.from('{"name": 1}')).toString('base64')).toString('base64'), /no release name/],
      [Buffer.from(gzipSync(Buffer.from('[1,2]')).toString('base64')).toString('base64'), /not an object/],
      [Buffer.from(gzipSync(Buffer.from('{"name":"x","version":1,"info":{"status":"deployed"}}')).toString('base64')).toString('base64'), /chart metadata/],
    ];
    for (const [input, message] of cases) {
      const err = integrityError(() => decodeHelmRelease(input));
      expect(err.code, input).toBe('integrity');
      expect(err.message, input).toMatch(message);
      expect(err.hint).toContain('helm.sh/release.v1');
    }
  });
});
