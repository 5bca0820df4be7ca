import { buildHelmReleaseSecret, type HelmRelease } from '../../helm/release-secret.js';
import { isJsonObject, type KubeObject } from './kube-object.js';
import { PACHD_CONFIG_MAP, PIPELINE_REPLICAS_ANNOTATION } from './pachd-mode.js';
import { seedObject as seedOne, type SeedPodOptions } from './seed-workload.js';
import type { ObjectStore } from './store.js';

/** The Pachyderm version the seeded cluster runs (images, chart and app version). */
export const PACHYDERM_VERSION = '2.11.6';

/** One pipeline's worker ReplicationController, named `<project>-<pipeline>-v<version>` as Pachyderm names it. */
export interface WorkerSpec {
  project?: string;
  pipeline: string;
  version?: number;
  /** The pipeline spec's parallelism: the RC's replicas, and what pachd restores them to. */
  replicas?: number;
  /** `spout` pipelines get `app: spout` instead of `app: pipeline`. */
  type?: 'pipeline' | 'spout';
  /** The user container's image. */
  image?: string;
}

/** How to shape the seeded Pachyderm namespace. */
export interface SeedOptions {
  /** Namespace to create (default `pachyderm`). */
  namespace?: string;
  /** Helm release name (default `pachyderm`). */
  releaseName?: string;
  /** The user-supplied Helm values of the deployed release (its `config`); default {@link defaultHelmValues}. */
  helmValues?: Record<string, unknown>;
  /** The pipeline workers to create (default {@link DEFAULT_WORKERS}). */
  workers?: WorkerSpec[];
  /** Create the ingestion CronJob `ingest-uploads` and Deployment `ingest-gateway` (default true). */
  ingestion?: boolean;
  /** Password stored in the PostgreSQL Secret named by the values' `postgresqlExistingSecretName` (default `pachyderm-sandbox`). */
  postgresPassword?: string;
  /** How long the seeded pods took to start (their conditions show it); the simulator passes its podDelayMs. */
  podStartupSeconds?: number;
}

/** What seeding created, by name, for tests and the sandbox. */
export interface SeededCluster {
  namespace: string;
  releaseName: string;
  deployments: string[];
  statefulSets: string[];
  workers: string[];
  ingestion: { cronJobs: string[]; deployments: string[] };
  helmReleaseSecrets: string[];
  helmValues: Record<string, unknown>;
}

/** The worker RCs of the default seeded cluster: two in project `default`, one in project `images`. */
export const DEFAULT_WORKERS: readonly WorkerSpec[] = [
  { project: 'default', pipeline: 'edges', version: 1, replicas: 1, image: 'pachyderm/opencv:1.0' },
  { project: 'default', pipeline: 'montage', version: 1, replicas: 1, image: 'dpokidov/imagemagick:7.1.0-23' },
  { project: 'images', pipeline: 'resize', version: 3, replicas: 2, image: 'pachyderm/opencv:1.0' },
];

/** The name Pachyderm gives a pipeline's worker RC. */
export function workerRcName(worker: WorkerSpec): string {
  return `${worker.project ?? 'default'}-${worker.pipeline}-v${worker.version ?? 1}`;
}

/**
 * Helm values for a Pachyderm deployed against an external PostgreSQL and an S3-compatible object store —
 * the shape of a production install. The sandbox passes its own, pointing at its real PostgreSQL and S3.
 */
export function defaultHelmValues(): Record<string, unknown> {
  return {
    deployTarget: 'CUSTOM',
    global: {
      postgresql: {
        postgresqlHost: '127.0.0.1',
        postgresqlPort: '5432',
        postgresqlUsername: 'pachyderm',
        postgresqlDatabase: 'pachyderm',
        postgresqlExistingSecretName: 'pachyderm-postgresql',
        postgresqlExistingSecretKey: 'postgresql-password',
        postgresqlSSL: 'disable',
        identityDatabaseFullNameOverride: 'dex',
      },
    },
    postgresql: { enabled: false },
    pachd: {
      storage: {
        backend: 'AMAZON',
        storageURL: 's3://pachyderm-data?endpoint=127.0.0.1:9000&disableSSL=true&region=us-east-1',
      },
      storageGCPeriod: 60,
      storageChunkGCPeriod: 60,
    },
    console: { enabled: true },
    proxy: { enabled: true, service: { type: 'ClusterIP' } },
  };
}

/** A hand-written subset of the chart's defaults (`chart.values` of the release). */
function chartDefaults(): Record<string, unknown> {
  return {
    deployTarget: '',
    global: {
      postgresql: {
        postgresqlUsername: 'pachyderm',
        postgresqlDatabase: 'pachyderm',
        postgresqlHost: 'postgres',
        postgresqlPort: '5432',
        postgresqlSSL: 'prefer',
        postgresqlExistingSecretName: '',
        postgresqlExistingSecretKey: '',
        identityDatabaseFullNameOverride: '',
      },
    },
    pachd: { enabled: true, storage: { backend: '', storageURL: '' }, storageGCPeriod: 0, storageChunkGCPeriod: 0 },
    postgresql: { enabled: true },
    console: { enabled: true },
    proxy: { enabled: true },
    etcd: { replicas: 1 },
  };
}

function readValue(values: Record<string, unknown>, path: string): unknown {
  let current: unknown = values;
  for (const part of path.split('.')) {
    if (!isJsonObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

function stringValue(values: Record<string, unknown>, path: string, fallback: string): string {
  const value = readValue(values, path);
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : fallback;
}

const SUITE = { suite: 'pachyderm' } as const;

function helmMeta(release: string, namespace: string): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { ...SUITE, 'app.kubernetes.io/managed-by': 'Helm' },
    annotations: { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': namespace },
  };
}

interface AppSpec {
  name: string;
  app: string;
  image: string;
  replicas: number;
  container: Record<string, unknown>;
  labels?: Record<string, string>;
  serviceAccountName?: string;
}

function deployment(namespace: string, release: string | undefined, spec: AppSpec): KubeObject {
  const meta = release ? helmMeta(release, namespace) : { labels: {}, annotations: {} };
  const podLabels = { app: spec.app, ...(release ? SUITE : {}), ...(spec.labels ?? {}) };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: spec.name, namespace, labels: { app: spec.app, ...meta.labels, ...(spec.labels ?? {}) }, annotations: meta.annotations },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: { app: spec.app, ...(release ? SUITE : {}) } },
      template: {
        metadata: { labels: podLabels, annotations: {} },
        spec: {
          ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}),
          containers: [{ name: spec.app, image: spec.image, ...spec.container }],
        },
      },
    },
  };
}

/** A stable fake ClusterIP per service name, in the usual 10.96.0.0/12 service range. */
function clusterIpFor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 33) + name.charCodeAt(i)) >>> 0;
  return `10.96.${(h >>> 8) % 250}.${(h % 250) + 2}`;
}

function service(namespace: string, release: string, name: string, app: string, ports: Array<[string, number]>): KubeObject {
  const meta = helmMeta(release, namespace);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { app, ...meta.labels }, annotations: meta.annotations },
    spec: {
      type: 'ClusterIP',
      clusterIP: clusterIpFor(name),
      selector: { app, ...SUITE },
      ports: ports.map(([portName, port]) => ({ name: portName, port, targetPort: port, protocol: 'TCP' })),
    },
  };
}

function workerRc(namespace: string, worker: WorkerSpec): KubeObject {
  const project = worker.project ?? 'default';
  const version = String(worker.version ?? 1);
  const labels = {
    app: worker.type === 'spout' ? 'spout' : 'pipeline',
    pipelineName: worker.pipeline,
    pipelineVersion: version,
    pipelineProject: project,
    ...SUITE,
    component: 'worker',
  };
  const replicas = worker.replicas ?? 1;
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: {
      name: workerRcName(worker),
      namespace,
      labels,
      annotations: {
        pipelineName: worker.pipeline,
        pipelineProject: project,
        pachVersion: PACHYDERM_VERSION,
        specCommit: `${'0'.repeat(24)}${version.padStart(8, '0')}`,
        [PIPELINE_REPLICAS_ANNOTATION]: String(replicas),
      },
    },
    spec: {
      replicas,
      selector: labels,
      template: {
        metadata: { name: workerRcName(worker), labels, annotations: { pipelineName: worker.pipeline, pachVersion: PACHYDERM_VERSION } },
        spec: {
          serviceAccountName: 'pachyderm-worker',
          initContainers: [{ name: 'init', image: `pachyderm/worker:${PACHYDERM_VERSION}`, command: ['/app/init'], volumeMounts: [{ name: 'pachyderm-worker', mountPath: '/pach-bin' }] }],
          containers: [
            {
              name: 'user',
              image: worker.image ?? 'ubuntu:22.04',
              command: ['/pach-bin/worker'],
              env: [
                { name: 'PPS_PIPELINE_NAME', value: worker.pipeline },
                { name: 'PPS_PROJECT_NAME', value: project },
                { name: 'PPS_SPEC_COMMIT', value: `${'0'.repeat(24)}${version.padStart(8, '0')}` },
              ],
              volumeMounts: [{ name: 'pachyderm-worker', mountPath: '/pach-bin' }],
            },
            {
              name: 'storage',
              image: `pachyderm/pachd:${PACHYDERM_VERSION}`,
              command: ['/pachd', '--mode', 'sidecar'],
              ports: [{ name: 'sidecar-port', containerPort: 1650 }],
            },
          ],
          volumes: [{ name: 'pachyderm-worker', emptyDir: {} }],
        },
      },
    },
  };
}

function helmRelease(
  releaseName: string,
  namespace: string,
  revision: number,
  status: 'deployed' | 'superseded',
  chartVersion: string,
  config: Record<string, unknown>,
  deployedAt: string,
  firstDeployed: string,
): HelmRelease {
  return {
    name: releaseName,
    namespace,
    version: revision,
    info: {
      first_deployed: firstDeployed,
      last_deployed: deployedAt,
      deleted: '',
      description: revision === 1 ? 'Install complete' : 'Upgrade complete',
      status,
      notes: 'Pachyderm is running. Connect with `pachctl connect`.',
    },
    chart: {
      metadata: {
        name: 'pachyderm',
        version: chartVersion,
        appVersion: chartVersion,
        apiVersion: 'v2',
        description: 'Explainable, repeatable, scalable data science',
        kubeVersion: '>= 1.16.0-0',
        type: 'application',
      },
      lock: null,
      templates: [],
      values: chartDefaults(),
      schema: null,
      files: [],
    },
    config,
    manifest: [
      '---',
      '# Source: pachyderm/templates/pachd/deployment.yaml',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: pachd',
      `  namespace: ${namespace}`,
      '  labels:',
      '    app: pachd',
      '    suite: pachyderm',
      '',
    ].join('\n'),
  };
}

/**
 * Seeds a Pachyderm-shaped namespace into a store, settled as if it had been running a while: the Helm
 * chart's Deployments (pachd, pachw, pg-bouncer, console, pachyderm-proxy) and etcd StatefulSet with Ready
 * pods, Services, ServiceAccounts, the `pachd-config` ConfigMap in full mode, the PostgreSQL password Secret
 * the values refer to, one worker RC per pipeline with its pods (labelled as Pachyderm labels them, with the
 * pipeline's replica count kept in {@link PIPELINE_REPLICAS_ANNOTATION}), the Helm release Secrets
 * (v1 superseded on chart 2.11.5, v2 deployed on 2.11.6, v2's `config` = `helmValues`), and — not labelled
 * `suite=pachyderm` — the user's own ingestion: CronJob `ingest-uploads` and Deployment `ingest-gateway`.
 */
export function seedPachydermCluster(store: ObjectStore, options: SeedOptions = {}): SeededCluster {
  const namespace = options.namespace ?? 'pachyderm';
  const releaseName = options.releaseName ?? 'pachyderm';
  const values = options.helmValues ?? defaultHelmValues();
  const workers = options.workers ?? [...DEFAULT_WORKERS];
  const image = `pachyderm/pachd:${PACHYDERM_VERSION}`;
  const podOptions: SeedPodOptions = options.podStartupSeconds !== undefined ? { podStartupSeconds: options.podStartupSeconds } : {};
  const seedObject = (target: ObjectStore, obj: KubeObject) => seedOne(target, obj, podOptions);

  seedObject(store, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  for (const sa of ['default', 'pachyderm', 'pachyderm-worker']) {
    seedObject(store, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace, ...(sa === 'default' ? {} : helmMeta(releaseName, namespace)) } });
  }

  // pachd's mode switch is not Helm-managed: pachd itself (Pause/Unpause) writes it.
  seedObject(store, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: PACHD_CONFIG_MAP, namespace, labels: { ...SUITE } }, data: { MODE: 'full' } });

  const secretName = stringValue(values, 'global.postgresql.postgresqlExistingSecretName', '');
  if (secretName) {
    const key = stringValue(values, 'global.postgresql.postgresqlExistingSecretKey', 'postgresql-password');
    seedObject(store, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secretName, namespace, labels: { ...SUITE } },
      type: 'Opaque',
      stringData: { [key]: options.postgresPassword ?? 'pachyderm-sandbox' },
    });
  }

  const pgHost = stringValue(values, 'global.postgresql.postgresqlHost', 'postgres');
  const pgPort = stringValue(values, 'global.postgresql.postgresqlPort', '5432');
  const pgUser = stringValue(values, 'global.postgresql.postgresqlUsername', 'pachyderm');
  const pgDatabase = stringValue(values, 'global.postgresql.postgresqlDatabase', 'pachyderm');
  const storageUrl = stringValue(values, 'pachd.storage.storageURL', '');
  const passwordEnv = secretName
    ? { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: secretName, key: stringValue(values, 'global.postgresql.postgresqlExistingSecretKey', 'postgresql-password') } } }
    : { name: 'POSTGRES_PASSWORD', value: stringValue(values, 'global.postgresql.postgresqlPassword', '') };
  const pachdEnv = [
    { name: 'PACH_ROOT', value: '/pach' },
    { name: 'STORAGE_BACKEND', value: stringValue(values, 'pachd.storage.backend', 'AMAZON') },
    { name: 'STORAGE_URL', value: storageUrl },
    { name: 'POSTGRES_HOST', value: pgHost },
    { name: 'POSTGRES_PORT', value: pgPort },
    { name: 'POSTGRES_USER', value: pgUser },
    { name: 'POSTGRES_DATABASE', value: pgDatabase },
    passwordEnv,
    { name: 'PG_BOUNCER_HOST', value: 'pg-bouncer' },
    { name: 'PG_BOUNCER_PORT', value: '5432' },
    { name: 'STORAGE_GC_PERIOD', value: `${stringValue(values, 'pachd.storageGCPeriod', '60')}s` },
    { name: 'STORAGE_CHUNK_GC_PERIOD', value: `${stringValue(values, 'pachd.storageChunkGCPeriod', '60')}s` },
    { name: 'PACHD_POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
  ];
  const pachdPorts = [
    { name: 'api-grpc-port', containerPort: 1650 },
    { name: 'peer-port', containerPort: 1653 },
    { name: 's3gateway-port', containerPort: 1600 },
    { name: 'prom-metrics', containerPort: 1656 },
    { name: 'oidc-port', containerPort: 1657 },
    { name: 'identity-port', containerPort: 1658 },
    { name: 'http-port', containerPort: 1659 },
  ];
  const apps: AppSpec[] = [
    {
      name: 'pachd',
      app: 'pachd',
      image,
      replicas: 1,
      serviceAccountName: 'pachyderm',
      container: {
        command: ['/pachd'],
        // pachd reads MODE from the pachd-config ConfigMap through envFrom and starts with --mode $(MODE).
        args: ['--mode', '$(MODE)'],
        envFrom: [{ configMapRef: { name: PACHD_CONFIG_MAP } }],
        env: pachdEnv,
        ports: pachdPorts,
        readinessProbe: { exec: { command: ['/pachd', '--readiness'] }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        volumeMounts: [{ name: 'pach-disk', mountPath: '/pach' }],
      },
    },
    {
      name: 'pachw',
      app: 'pachw',
      image,
      replicas: 1,
      serviceAccountName: 'pachyderm-worker',
      container: { command: ['/pachd'], args: ['--mode', 'pachw'], env: pachdEnv },
    },
    {
      name: 'pg-bouncer',
      app: 'pg-bouncer',
      image: 'pachyderm/pgbouncer:1.16.2',
      replicas: 1,
      container: {
        env: [
          { name: 'POSTGRESQL_HOST', value: pgHost },
          { name: 'POSTGRESQL_PORT', value: pgPort },
          { name: 'POSTGRESQL_USERNAME', value: pgUser },
          { name: 'PGBOUNCER_SSLMODE', value: stringValue(values, 'global.postgresql.postgresqlSSL', 'prefer') },
          passwordEnv.name === 'POSTGRES_PASSWORD' ? { ...passwordEnv, name: 'POSTGRESQL_PASSWORD' } : passwordEnv,
        ],
        ports: [{ name: 'client-port', containerPort: 5432 }],
      },
    },
    { name: 'console', app: 'console', image: `pachyderm/haberdashery:${PACHYDERM_VERSION}`, replicas: 1, container: { ports: [{ name: 'console-http', containerPort: 4000 }] } },
    {
      name: 'pachyderm-proxy',
      app: 'pachyderm-proxy',
      image: 'envoyproxy/envoy-distroless:v1.29.2',
      replicas: 1,
      container: { ports: [{ name: 'http', containerPort: 1650 }] },
    },
  ];
  for (const app of apps) {
    const obj = deployment(namespace, releaseName, app);
    if (app.name === 'pachd') {
      const template = (obj.spec as Record<string, Record<string, Record<string, unknown>>>).template;
      if (template?.spec) template.spec.volumes = [{ name: 'pach-disk', emptyDir: {} }];
    }
    seedObject(store, obj);
  }

  const etcdMeta = helmMeta(releaseName, namespace);
  seedObject(store, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'etcd', namespace, labels: { app: 'etcd', ...etcdMeta.labels }, annotations: etcdMeta.annotations },
    spec: {
      replicas: 1,
      serviceName: 'etcd-headless',
      selector: { matchLabels: { app: 'etcd', ...SUITE } },
      template: {
        metadata: { labels: { app: 'etcd', ...SUITE } },
        spec: { containers: [{ name: 'etcd', image: 'pachyderm/etcd:v3.5.5', ports: [{ name: 'client-port', containerPort: 2379 }] }] },
      },
    },
  });

  for (const svc of [
    service(namespace, releaseName, 'pachd', 'pachd', [['api-grpc-port', 1650], ['s3gateway-port', 1600], ['prom-metrics', 1656], ['http-port', 1659]]),
    service(namespace, releaseName, 'pachd-peer', 'pachd', [['api-grpc-peer-port', 1653]]),
    service(namespace, releaseName, 'pg-bouncer', 'pg-bouncer', [['client-port', 5432]]),
    service(namespace, releaseName, 'console', 'console', [['console-http', 4000]]),
    service(namespace, releaseName, 'pachyderm-proxy', 'pachyderm-proxy', [['http-port', 80]]),
    service(namespace, releaseName, 'etcd', 'etcd', [['client-port', 2379]]),
  ]) {
    seedObject(store, svc);
  }

  const workerNames: string[] = [];
  for (const worker of workers) {
    const rc = seedObject(store, workerRc(namespace, worker));
    workerNames.push(rc.metadata.name ?? '');
  }

  const ingestion = { cronJobs: [] as string[], deployments: [] as string[] };
  if (options.ingestion !== false) {
    seedObject(store, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'ingest-uploads', namespace, labels: { app: 'ingest-uploads', team: 'data-eng' } },
      spec: {
        schedule: '*/5 * * * *',
        suspend: false,
        jobTemplate: {
          spec: {
            template: {
              metadata: { labels: { app: 'ingest-uploads' } },
              spec: {
                restartPolicy: 'OnFailure',
                containers: [{ name: 'put-file', image: `pachyderm/pachctl:${PACHYDERM_VERSION}`, command: ['sh', '-c', 'pachctl put file uploads@master -r -f /incoming'] }],
              },
            },
          },
        },
      },
    });
    ingestion.cronJobs.push('ingest-uploads');
    seedObject(
      store,
      deployment(namespace, undefined, {
        name: 'ingest-gateway',
        app: 'ingest-gateway',
        image: 'example.com/data-eng/ingest-gateway:1.4.2',
        replicas: 2,
        labels: { team: 'data-eng' },
        container: { ports: [{ name: 'http', containerPort: 8080 }], env: [{ name: 'PACHD_ADDRESS', value: 'grpc://pachd:1650' }] },
      }),
    );
    ingestion.deployments.push('ingest-gateway');
  }

  const now = Date.now();
  const firstDeployed = new Date(now - 30 * 24 * 3600 * 1000).toISOString();
  const upgraded = new Date(now - 7 * 24 * 3600 * 1000).toISOString();
  const previousValues = structuredClone(values);
  const releases = [
    helmRelease(releaseName, namespace, 1, 'superseded', '2.11.5', previousValues, firstDeployed, firstDeployed),
    helmRelease(releaseName, namespace, 2, 'deployed', PACHYDERM_VERSION, values, upgraded, firstDeployed),
  ];
  const secretNames: string[] = [];
  for (const release of releases) {
    const secret = buildHelmReleaseSecret(release, { createdAt: Math.floor(Date.parse(release.info.last_deployed ?? '') / 1000) });
    seedObject(store, secret as unknown as KubeObject);
    secretNames.push(secret.metadata.name);
  }

  return {
    namespace,
    releaseName,
    deployments: apps.map((a) => a.name),
    statefulSets: ['etcd'],
    workers: workerNames,
    ingestion,
    helmReleaseSecrets: secretNames,
    helmValues: structuredClone(values),
  };
}
