import type { BackupManifest, VerificationRecord } from '../../../src/catalog/manifest.js';
import type {
  AnnouncementView,
  BackupConfirmationView,
  BackupListItemView,
  BackupSummaryView,
  ClusterStatusView,
  DowntimeEstimate,
  HistoryItemView,
  RunView,
  StepView,
} from '../../../src/slack/views/view-models.js';

/** Representative data for the view tests: a production cluster backed up at 03:00 UTC on Tue 24 Nov 2026. */

export const START = '2026-11-24T03:00:00.000Z';
export const START_UNIX = 1795489200;
export const INJECTED_NOTE = '<!channel> <https://evil|click>';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export const estimate: DowntimeEstimate = {
  expectedSeconds: 240,
  lowSeconds: 180,
  highSeconds: 300,
  basis: 'history',
  runs: 12,
  perStep: [
    { step: 'pause', title: 'Pause Pachyderm', expectedSeconds: 20 },
    { step: 'dump-databases', title: 'Dump the databases', expectedSeconds: 120 },
    { step: 'delta-copy', title: 'Copy new objects and write the inventory', expectedSeconds: 70 },
    { step: 'resume', title: 'Resume Pachyderm', expectedSeconds: 30 },
  ],
};

export const throughputEstimate: DowntimeEstimate = { ...estimate, basis: 'throughput', runs: 0, expectedSeconds: 75, lowSeconds: 40, highSeconds: 150 };

/** The backup's steps, all waiting. */
export function backupSteps(): StepView[] {
  return [
    { name: 'preflight', title: 'Preflight checks', state: 'pending', downtime: false },
    { name: 'helm-values', title: 'Keep the Helm values', state: 'pending', downtime: false },
    { name: 'pre-copy', title: 'Copy objects (cluster running)', state: 'pending', downtime: false },
    { name: 'suspend-ingress', title: 'Suspend data ingestion', state: 'pending', downtime: false },
    { name: 'pause', title: 'Pause Pachyderm', state: 'pending', downtime: true },
    { name: 'dump-databases', title: 'Dump the databases', state: 'pending', downtime: true },
    { name: 'delta-copy', title: 'Copy new objects and write the inventory', state: 'pending', downtime: true },
    { name: 'resume', title: 'Resume Pachyderm', state: 'pending', downtime: true },
    { name: 'resume-ingress', title: 'Resume data ingestion', state: 'pending', downtime: false },
    { name: 'manifest', title: 'Write the manifest', state: 'pending', downtime: false },
    { name: 'verify', title: 'Verify the backup', state: 'pending', downtime: false },
  ];
}

const DONE: Record<string, Partial<StepView>> = {
  preflight: { durationMs: 1240, summary: 'pachd ×1, 3 worker RCs (6 pods); PostgreSQL 16.4 over TLS; pg_dump 16.4' },
  'helm-values': { durationMs: 310, summary: 'release pachyderm revision 7, chart 2.11.3, app 2.11.3' },
  'pre-copy': { durationMs: 64_200, sizes: { objects: 12_034, bytes: Math.round(4.2 * GiB) }, summary: 'copied 12,034 objects (4.2 GiB) at 67 MiB/s' },
  'suspend-ingress': { durationMs: 820, summary: 'suspended 2 ingestion workloads' },
  pause: { durationMs: 4100, summary: 'stopped pachd ×1, pachd-proxy ×1, console ×1, 3 worker RCs (6 pods)' },
  'dump-databases': { durationMs: 118_400, sizes: { bytes: Math.round(1.3 * GiB), rows: 2_104_331 }, summary: 'pachyderm 1.3 GiB (84 tables), dex 212.0 KiB (12 tables)' },
  'delta-copy': { durationMs: 61_900, sizes: { objects: 37, bytes: 96 * MiB }, summary: 'copied 37 objects (96.0 MiB); inventory of 12,071 objects (48.3 GiB)' },
  resume: { durationMs: 7600, summary: 'back at pachd ×1, pachd-proxy ×1, console ×1, 3 worker RCs (6 pods)' },
  'resume-ingress': { durationMs: 540, summary: 'resumed 2 ingestion workloads' },
  manifest: { durationMs: 880, sizes: { bytes: 14_213 }, summary: 'backup prod-20261124-030000 is complete' },
  verify: { durationMs: 9300, summary: '7 checks passed' },
};

/** Steps with the first `done` done, the next running, the rest waiting. */
export function stepsUpTo(done: number): StepView[] {
  return backupSteps().map((s, i) => (i < done ? { ...s, ...DONE[s.name], state: 'done' } : i === done ? { ...s, state: 'running' } : s));
}

/** Paused, dumping the databases. */
export const runningRun: RunView = {
  id: 'prod-20261124-030000',
  kind: 'backup',
  cluster: 'prod',
  clusterDisplayName: 'Production',
  requestedBy: '<@U024BE7LH>',
  note: 'before the 2.12 upgrade',
  phase: 'running',
  steps: stepsUpTo(5),
  startedAt: START,
  estimate,
  pausedAt: '2026-11-24T03:01:07.000Z',
  downtimeSeconds: 62,
  warnings: [],
};

export const succeededRun: RunView = {
  ...runningRun,
  phase: 'succeeded',
  steps: stepsUpTo(11),
  finishedAt: '2026-11-24T03:05:31.000Z',
  downtimeSeconds: 192,
};

export const failedRun: RunView = {
  ...runningRun,
  phase: 'failed',
  steps: backupSteps().map((s, i) => {
    if (s.name === 'delta-copy') return { ...s, state: 'failed', durationMs: 12_000, error: 'copy of chunk/9f/9f3a… failed: SlowDown: Please reduce your request rate' };
    if (s.name === 'pause') return { ...s, ...DONE[s.name], state: 'undone' };
    if (s.name === 'suspend-ingress') return { ...s, ...DONE[s.name], state: 'undone' };
    return i < 6 ? { ...s, ...DONE[s.name], state: 'done' } : s;
  }),
  finishedAt: '2026-11-24T03:03:40.000Z',
  downtimeSeconds: 141,
  error: 'delta-copy: copy of chunk/9f/9f3a… failed: SlowDown: Please reduce your request rate',
  warnings: ['the announcement channel #data-users could not be edited: not_in_channel'],
};

export const summary: BackupSummaryView = {
  id: 'prod-20261124-030000',
  cluster: 'prod',
  phase: 'succeeded',
  warnings: [],
  downtimeSeconds: 192,
  estimate,
  objects: { total: 12_071, copied: 12_071, copiedWhilePaused: 37 },
  bytes: { total: Math.round(48.3 * GiB), copied: Math.round(4.2 * GiB) + 96 * MiB },
  copySeconds: 126.1,
  databases: [
    { name: 'pachyderm', bytes: Math.round(1.3 * GiB) },
    { name: 'dex', bytes: 217_088 },
  ],
  verified: true,
};

export function announcement(state: AnnouncementView['state'], extra: Partial<AnnouncementView> = {}): AnnouncementView {
  return { cluster: 'prod', clusterDisplayName: 'Production', state, startsAt: START, estimate, fallbackZone: 'UTC', ...extra };
}

export const confirmation: BackupConfirmationView = {
  confirmationId: 'c0nf1rm-7f3a',
  cluster: 'prod',
  clusterDisplayName: 'Production',
  context: 'prod-eks-eu-west-1',
  namespace: 'pachyderm',
  pauseStrategy: 'scale',
  deployments: [
    { name: 'pachd', replicas: 1 },
    { name: 'pachd-proxy', replicas: 1 },
    { name: 'console', replicas: 1 },
  ],
  workers: [
    { name: 'pipeline-images-edges-v3', replicas: 2 },
    { name: 'pipeline-images-montage-v1', replicas: 1 },
    { name: 'pipeline-training-features-v12', replicas: 3 },
  ],
  ingress: ['CronJob s3-import', 'Deployment upload-gateway'],
  databases: ['pachyderm', 'dex'],
  bucket: 'acme-pachyderm-prod',
  backupStore: 'acme-pachyderm-backups/prod',
  estimate,
  note: 'before the 2.12 upgrade',
  expiresAt: '2026-11-24T03:10:00.000Z',
};

export const NOW = '2026-11-24T09:30:00.000Z';

export const upStatus: ClusterStatusView = {
  name: 'prod',
  displayName: 'Production',
  context: 'prod-eks-eu-west-1',
  namespace: 'pachyderm',
  reachable: true,
  pachd: { replicas: 1, ready: 1, image: 'pachyderm/pachd:2.11.3' },
  paused: false,
  workers: [
    { name: 'pipeline-images-edges-v3', replicas: 2, ready: 2 },
    { name: 'pipeline-images-montage-v1', replicas: 1, ready: 0 },
    { name: 'pipeline-training-features-v12', replicas: 3, ready: 3 },
  ],
  lastGoodBackup: { id: 'prod-20261124-030000', completedAt: '2026-11-24T03:05:31.000Z', downtimeSeconds: 192 },
  now: NOW,
};

export const pausedStatus: ClusterStatusView = {
  name: 'staging',
  displayName: 'Staging',
  context: 'staging-eks',
  namespace: 'pachyderm',
  reachable: true,
  pachd: { replicas: 0, ready: 0, image: 'pachyderm/pachd:2.12.0' },
  paused: true,
  workers: [],
  running: { runId: 'staging-20261124-092800', kind: 'backup', requestedBy: 'cli:alice@ops-1', since: '2026-11-24T09:28:00.000Z', phase: 'running' },
  now: NOW,
};

export const unreachableStatus: ClusterStatusView = {
  name: 'edge',
  displayName: 'Edge lab',
  context: 'edge-k3s',
  namespace: 'pach',
  reachable: false,
  error: 'connect ECONNREFUSED 10.0.4.2:6443',
  paused: false,
  workers: [],
  lastGoodBackup: { id: 'edge-20261111-020000', completedAt: '2026-11-11T02:04:00.000Z', downtimeSeconds: 71 },
  now: NOW,
};

export const listItems: BackupListItemView[] = [
  { id: 'prod-20261117-030000', completedAt: '2026-11-17T03:04:10.000Z', downtimeSeconds: 231, objects: 11_870, bytes: Math.round(47.1 * GiB), databaseBytes: Math.round(1.2 * GiB), pachydermVersion: '2.11.3', verified: false },
  { id: 'prod-20261124-030000', completedAt: '2026-11-24T03:05:31.000Z', downtimeSeconds: 192, objects: 12_071, bytes: Math.round(48.3 * GiB), databaseBytes: Math.round(1.3 * GiB), pachydermVersion: '2.11.3', verified: true },
  { id: 'prod-20261110-030000', completedAt: '2026-11-10T03:03:58.000Z', downtimeSeconds: 219, objects: 11_402, bytes: Math.round(45.9 * GiB), databaseBytes: Math.round(1.2 * GiB), verified: null },
];

export const historyItems: HistoryItemView[] = [
  { id: 'prod-20261124-030000', kind: 'backup', phase: 'succeeded', requestedBy: '<@U024BE7LH>', createdAt: START, estimatedSeconds: 240, estimateLowSeconds: 180, estimateHighSeconds: 300, actualSeconds: 192 },
  { id: 'prod-20261117-030000', kind: 'backup', phase: 'succeeded', requestedBy: 'cli:alice@ops-1', createdAt: '2026-11-17T03:00:00.000Z', estimatedSeconds: 200, estimateLowSeconds: 150, estimateHighSeconds: 220, actualSeconds: 231 },
  {
    id: 'prod-20261120-140000',
    kind: 'backup',
    phase: 'failed',
    requestedBy: '<@U024BE7LH>',
    createdAt: '2026-11-20T14:00:00.000Z',
    estimatedSeconds: 210,
    estimateLowSeconds: 160,
    estimateHighSeconds: 260,
    actualSeconds: 141,
    error: 'delta-copy: SlowDown: Please reduce your request rate',
  },
  { id: 'prod-20261122-100000', kind: 'backup', phase: 'cancelled', requestedBy: '<@U024BE7LH>', createdAt: '2026-11-22T10:00:00.000Z', estimatedSeconds: 240, pause: { approxSeconds: 42 }, error: 'cancelled during "Dump the databases"' },
  { id: 'prod-20261123-100000', kind: 'backup', phase: 'failed', requestedBy: '<@U024BE7LH>', createdAt: '2026-11-23T10:00:00.000Z', pause: { stillPaused: true }, error: 'Copy new objects: timeout; undo of "Pause Pachyderm" failed: HTTP 500' },
  { id: 'prod-20261121-090000', kind: 'backup', phase: 'failed-validation', requestedBy: '<@U0G9QF9C6>', createdAt: '2026-11-21T09:00:00.000Z', estimatedSeconds: 220, estimateLowSeconds: 170, estimateHighSeconds: 270, error: 'preflight: pg_dump 15.2 is older than the server (16.4)' },
];

export const manifest: BackupManifest = {
  formatVersion: 1,
  id: 'prod-20261124-030000',
  cluster: 'prod',
  status: 'complete',
  requestedBy: '<@U024BE7LH>',
  note: 'before the 2.12 upgrade',
  startedAt: START,
  completedAt: '2026-11-24T03:05:31.000Z',
  pachyderm: { namespace: 'pachyderm', helmRelease: 'pachyderm', helmRevision: 7, chartVersion: '2.11.3', appVersion: '2.11.3', pachdImage: 'pachyderm/pachd:2.11.3', pauseStrategy: 'scale' },
  downtime: { pausedAt: '2026-11-24T03:01:07.000Z', resumedAt: '2026-11-24T03:04:19.000Z', seconds: 192 },
  replicas: { pachd: 1, deployments: { 'pachd-proxy': 1, console: 1 }, workers: { 'pipeline-images-edges-v3': 2, 'pipeline-images-montage-v1': 1, 'pipeline-training-features-v12': 3 } },
  steps: backupSteps().map((s) => ({
    name: s.name,
    startedAt: START,
    finishedAt: START,
    durationMs: DONE[s.name]?.durationMs ?? null,
    ...(DONE[s.name]?.sizes ?? {}),
  })),
  helmValues: { key: 'backups/prod/prod-20261124-030000/helm-values.yaml', sha256: 'ab'.repeat(32), bytes: 4211 },
  databases: [
    {
      name: 'pachyderm',
      key: 'backups/prod/prod-20261124-030000/postgres/pachyderm.dump',
      bytes: Math.round(1.3 * GiB),
      sha256: 'cd'.repeat(32),
      format: 'custom',
      pgDumpVersion: '16.4',
      serverVersion: '16.4',
      tables: [
        { schema: 'pfs', table: 'commits', rows: 1_200_331 },
        { schema: 'storage', table: 'chunks', rows: 904_000 },
      ],
    },
    { name: 'dex', key: 'backups/prod/prod-20261124-030000/postgres/dex.dump', bytes: 217_088, sha256: 'ef'.repeat(32), format: 'custom', pgDumpVersion: '16.4', serverVersion: '16.4', tables: [{ schema: 'public', table: 'client', rows: 3 }] },
  ],
  objects: {
    pool: 'acme-pachyderm-backups/prod/objects/',
    inventory: { key: 'backups/prod/prod-20261124-030000/inventory.ndjson.gz', sha256: '01'.repeat(32), bytes: 402_113 },
    count: 12_071,
    bytes: Math.round(48.3 * GiB),
    copied: 12_071,
    copiedBytes: Math.round(4.2 * GiB) + 96 * MiB,
    copiedWhilePaused: 37,
  },
  tools: { pachbackup: '0.1.0', node: 'v20.19.0', pgDump: 'pg_dump (PostgreSQL) 16.4' },
};

export const verification: VerificationRecord = {
  backupId: 'prod-20261124-030000',
  verifiedAt: '2026-11-24T03:05:40.000Z',
  ok: true,
  checks: [
    { name: 'manifest', ok: true, detail: 'present and well-formed' },
    { name: 'dumps', ok: true, detail: '2 dumps match their sha256' },
    { name: 'dump listing', ok: true, detail: 'pg_restore --list reads both dumps' },
    { name: 'inventory', ok: true, detail: '12,071 objects listed, sha256 matches' },
    { name: 'objects', ok: true, detail: 'every inventoried object is in the pool with its size' },
  ],
};
