import type { RestorePlan } from '../../../src/restore/restore-plan.js';
import type { RestoreBackupChoice } from '../../../src/slack/views/restore-modal.js';

const db = (source: string, role: 'pachyderm' | 'dex', target: string, replaces = false) => ({
  source,
  role,
  target,
  exists: replaces,
  objects: replaces ? 42 : 0,
  replaces,
  live: replaces,
  dumpBytes: 1_400_000_000,
  tables: 61,
  rows: 1_234_567,
});

/** A side-by-side restore of prod's backup into new databases and a new bucket. */
export const sideBySidePlan: RestorePlan = {
  formatVersion: 1,
  fingerprint: '3f1c0ffee0ddf00d3f1c0ffee0ddf00d3f1c0ffee0ddf00d3f1c0ffee0ddf00d',
  plannedAt: '2026-11-24T10:00:00.000Z',
  request: {
    backupId: 'prod-20261124t030000z-7f3a',
    databases: { kind: 'names', names: { pachyderm: 'pachyderm_restored_20261124', dex: 'dex_restored_20261124' } },
    objects: { kind: 'bucket', bucket: 'pachyderm-restored', prefix: '' },
    overwrite: false,
  },
  backup: {
    id: 'prod-20261124t030000z-7f3a',
    cluster: 'prod',
    completedAt: '2026-11-24T03:04:12.000Z',
    requestedBy: 'slack:U0OPS1',
    manifestKey: 'pachbackup/prod/prod-20261124t030000z-7f3a/manifest.json',
    manifestSha256: 'ab'.repeat(32),
    store: 's3://backups/pachbackup/prod',
    chartVersion: '2.11.6',
    pachydermVersion: '2.11.6',
    objects: { count: 12_071, bytes: 51_860_000_000 },
    verification: { ok: true, verifiedAt: '2026-11-24T03:05:00.000Z', source: 'verify.json', failed: [] },
  },
  target: {
    cluster: 'prod',
    displayName: 'Production',
    namespace: 'pachyderm',
    helmRelease: 'pachyderm',
    pachyderm: { installed: true, running: true, version: '2.11.6', pachd: 'pachyderm/pachd:2.11.6', workers: 3 },
    postgres: { host: 'pg.internal', port: 5432, user: 'pachbackup' },
  },
  inPlace: false,
  pause: { needed: false, reason: 'new databases and a new bucket: the running cluster is not touched', workloads: [] },
  databases: [db('pachyderm', 'pachyderm', 'pachyderm_restored_20261124'), db('dex', 'dex', 'dex_restored_20261124')],
  objects: { mode: 'copy', bucket: 'pachyderm-restored', prefix: '', bucketExists: false, empty: true, live: false, count: 12_071, bytes: 51_860_000_000 },
  steps: [
    { name: 'check-plan', title: 'Check the plan' },
    { name: 'restore-databases', title: 'Restore the databases' },
  ],
  creates: ['database pachyderm_restored_20261124', 'database dex_restored_20261124', 'bucket pachyderm-restored'],
  overwrites: [],
  changes: [],
  warnings: ['the restored databases are not used until Pachyderm is installed on them with the helm command'],
  refusals: [],
  helm: {
    release: 'pachyderm',
    namespace: 'pachyderm',
    chartVersion: '2.11.6',
    command: 'helm upgrade --install pachyderm pachyderm/pachyderm --version 2.11.6 --namespace pachyderm -f restored-values.yaml',
    valuesYaml: 'global: {}\n',
    targets: { postgres: { host: 'pg.internal', port: 5432 }, pachydermDatabase: 'pachyderm_restored_20261124', dexDatabase: 'dex_restored_20261124', objects: { bucket: 'pachyderm-restored', prefix: '' } },
    changes: [],
    storage: { style: 'storage-url', backend: 'minio', prefixSupported: true },
  },
};

/** The same backup in place: pauses, overwrites, and is refused for a bucket problem. */
export const inPlacePlan: RestorePlan = {
  ...sideBySidePlan,
  inPlace: true,
  pause: { needed: true, reason: 'the restore writes to the databases and bucket prod runs on', workloads: ['pachd', 'pg-bouncer', 'pipeline-edges-v1'] },
  databases: [db('pachyderm', 'pachyderm', 'pachyderm', true), db('dex', 'dex', 'dex', true)],
  overwrites: ['database pachyderm (42 tables) on pg.internal:5432', 'database dex (9 tables) on pg.internal:5432'],
  refusals: ['the bucket pachyderm-prod is not empty and overwrite was not chosen'],
};

export const backupChoices: RestoreBackupChoice[] = [
  { id: 'prod-20261124t030000z-7f3a', completedAt: '2026-11-24T03:04:12.000Z', bytes: 53_000_000_000, pachydermVersion: '2.11.6', verified: 'ok' },
  { id: 'prod-20261123t030000z-1b2c', completedAt: '2026-11-23T03:05:00.000Z', bytes: 52_000_000_000, pachydermVersion: '2.11.6', verified: 'unverified' },
  { id: 'prod-20261122t030000z-9d8e', completedAt: '2026-11-22T03:05:00.000Z', bytes: 51_000_000_000, verified: 'failed' },
];
