import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { backupAccessChecks } from '../../src/backup/steps/preflight.js';
import type { ClusterConfig } from '../../src/config/config.js';
import { describeAccess } from '../../src/kubernetes/pachyderm-workloads.js';
import {
  REPO,
  RENDERS,
  SECRET_EXAMPLE,
  filePathsIn,
  loadDeployedConfig,
  mountOf,
  mustFind,
  objectsOf,
  renderKustomization,
  ruleAllows,
  secretExample,
  validateObject,
  type PolicyRule,
  type RenderedObject,
} from './kustomize.js';

/** The uid the image runs as (its numeric USER), which the pods must ask for too. */
function imageUid(): number {
  const user = /^USER\s+(\d+)/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  if (!user) throw new Error('the Dockerfile has no numeric USER');
  return Number(user[1]);
}

function containerPort(deployment: RenderedObject, port: string | number): number | undefined {
  if (typeof port === 'number') return port;
  return deployment.spec.template.spec.containers[0].ports?.find((p: any) => p.name === port)?.containerPort;
}

describe.each(RENDERS)('kubectl kustomize %s', (dir) => {
  let objects: RenderedObject[];
  let app: RenderedObject;
  let worker: RenderedObject;
  let deployments: RenderedObject[];
  let role: RenderedObject;

  beforeAll(async () => {
    objects = await renderKustomization(dir);
    app = mustFind(objects, 'Deployment', 'pachbackup-app');
    worker = mustFind(objects, 'Deployment', 'pachbackup-worker');
    deployments = [app, worker];
    role = mustFind(objects, 'Role', 'pachbackup');
  });

  it('renders only valid Kubernetes objects: schema types and required fields, no unknown fields', () => {
    expect(objects.length).toBeGreaterThan(5);
    for (const obj of objects) validateObject(obj);
  });

  it('holds no Secret and no cluster-wide RBAC: credentials by reference, access only in the Pachyderm namespace', () => {
    expect(objectsOf(objects, 'Secret')).toEqual([]);
    expect(objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([]);
    for (const d of deployments) {
      const { volume } = mountOf(d, 'secret');
      expect(volume.secret.secretName).toBe('pachbackup-secrets');
      expect(volume.secret.optional ?? false).toBe(false);
    }
  });

  it('runs the app with `serve` and two workers with `worker`, from one pinned image', () => {
    expect(app.spec.template.spec.containers[0].args).toEqual(['serve']);
    expect(worker.spec.template.spec.containers[0].args).toEqual(['worker']);
    expect(worker.spec.replicas).toBe(2);
    for (const d of deployments) {
      const [container, ...others] = d.spec.template.spec.containers;
      expect(others).toEqual([]);
      expect(container.image).toMatch(/^ghcr\.io\/pachbackup\/pachbackup(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$/);
      expect(container.image).not.toMatch(/:latest$/);
    }
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the metrics port 9090', () => {
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      expect(c.livenessProbe?.httpGet?.path, d.metadata.name).toBe('/healthz');
      expect(c.readinessProbe?.httpGet?.path, d.metadata.name).toBe('/readyz');
      expect(containerPort(d, c.livenessProbe.httpGet.port)).toBe(9090);
      expect(containerPort(d, c.readinessProbe.httpGet.port)).toBe(9090);
      if (c.startupProbe) expect(c.startupProbe.httpGet.path).toBe('/healthz');
    }
  });

  it('runs as the image\'s non-root user, read-only, without capabilities, with seccomp RuntimeDefault', () => {
    const uid = imageUid();
    expect(uid).toBeGreaterThan(0);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      const effective = { ...pod.securityContext, ...c.securityContext };
      expect(effective.runAsNonRoot, d.metadata.name).toBe(true);
      expect(effective.runAsUser, d.metadata.name).toBe(uid);
      expect(effective.seccompProfile, d.metadata.name).toEqual({ type: 'RuntimeDefault' });
      expect(c.securityContext.allowPrivilegeEscalation, d.metadata.name).toBe(false);
      expect(c.securityContext.readOnlyRootFilesystem, d.metadata.name).toBe(true);
      expect(c.securityContext.capabilities?.drop, d.metadata.name).toEqual(['ALL']);
      expect(c.securityContext.capabilities?.add ?? [], d.metadata.name).toEqual([]);
      expect(effective.privileged ?? false).toBe(false);
      // With a read-only root, os.tmpdir() (pg_restore's downloads) must be a writable volume.
      const tmp = c.volumeMounts.find((m: any) => m.mountPath === '/tmp');
      expect(tmp, `${d.metadata.name} mounts nothing at /tmp`).toBeDefined();
      expect(pod.volumes.find((v: any) => v.name === tmp.name)?.emptyDir).toBeDefined();
      expect(c.volumeMounts.filter((m: any) => m.mountPath !== '/tmp').every((m: any) => m.readOnly === true)).toBe(true);
    }
  });

  it('sets CPU and memory requests and limits', () => {
    for (const d of deployments) {
      const { resources } = d.spec.template.spec.containers[0];
      for (const kind of ['requests', 'limits'] as const) {
        expect(resources?.[kind]?.cpu, `${d.metadata.name} ${kind}.cpu`).toBeDefined();
        expect(resources?.[kind]?.memory, `${d.metadata.name} ${kind}.memory`).toBeDefined();
      }
    }
  });

  it('exposes Slack HTTP (3000 → slack.port) and metrics (9090) on Service pachbackup, which selects the app', () => {
    const service = mustFind(objects, 'Service', 'pachbackup');
    const podLabels = app.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector as Record<string, string>)) expect(podLabels[k]).toBe(v);
    const workerLabels = worker.spec.template.metadata.labels;
    expect(Object.entries(service.spec.selector as Record<string, string>).every(([k, v]) => workerLabels[k] === v), 'the Service must not send Slack requests to workers').toBe(false);
    const port = (n: number) => service.spec.ports.find((p: any) => p.port === n);
    expect(containerPort(app, port(3000)?.targetPort)).toBe(3000);
    expect(containerPort(app, port(9090)?.targetPort)).toBe(9090);
    const { config } = loadDeployedConfig(objects, app);
    expect(config.slack?.port).toBe(3000);
  });

  it('gives both pods a termination grace period above the mounted config\'s shutdownGraceSeconds, so SIGKILL comes after a clean stop', () => {
    for (const d of deployments) {
      const { config } = loadDeployedConfig(objects, d);
      const grace = d.spec.template.spec.terminationGracePeriodSeconds;
      expect(grace, `${d.metadata.name}: terminationGracePeriodSeconds`).toBeGreaterThanOrEqual(config.shutdownGraceSeconds + 5);
      // Not so long that a rollout waits minutes on a pod that is gone anyway at shutdownGraceSeconds.
      expect(grace).toBeLessThanOrEqual(config.shutdownGraceSeconds + 30);
    }
  });

  it('mounts a config that passes pachbackup\'s own validation, with every secret a file in the mounted Secret', () => {
    const secretKeys = Object.keys(secretExample());
    for (const d of deployments) {
      const { text, config, secretMount } = loadDeployedConfig(objects, d);
      expect(Object.keys(config.clusters).length).toBeGreaterThan(0);
      const paths = filePathsIn(text);
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) {
        expect(path.startsWith(`${secretMount}/`), `${path} is not in the Secret mounted at ${secretMount}`).toBe(true);
        expect(secretKeys, `${SECRET_EXAMPLE} has no key ${basename(path)}`).toContain(basename(path));
      }
    }
  });

  it('binds the pods\' ServiceAccount to a Role in the namespace of every in-cluster Pachyderm', () => {
    const [account, ...more] = objectsOf(objects, 'ServiceAccount');
    expect(more).toEqual([]);
    for (const d of deployments) {
      expect(d.metadata.namespace).toBe(account!.metadata.namespace);
      expect(d.spec.template.spec.serviceAccountName).toBe(account!.metadata.name);
      expect(d.spec.template.spec.automountServiceAccountToken).toBe(true);
    }
    const binding = mustFind(objects, 'RoleBinding', 'pachbackup');
    expect(binding.metadata.namespace).toBe(role.metadata.namespace);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: account!.metadata.name, namespace: account!.metadata.namespace }]);
    const { config } = loadDeployedConfig(objects, worker);
    const inCluster = Object.values(config.clusters).filter((c) => c.kubernetes.inCluster);
    expect(inCluster.length).toBeGreaterThan(0);
    for (const cluster of inCluster) expect(cluster.kubernetes.namespace, `cluster ${cluster.name}`).toBe(role.metadata.namespace);
    expect(objectsOf(objects, 'Namespace').map((n) => n.metadata.name)).toEqual([account!.metadata.namespace]);
  });

  it('names in the Role exactly the Deployments and CronJobs the config makes pachbackup touch, with no wildcards', () => {
    const rules = role.rules as PolicyRule[];
    for (const rule of rules) {
      for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames ?? []]) expect(field).not.toContain('*');
    }
    const { config } = loadDeployedConfig(objects, worker);
    const clusters = Object.values(config.clusters).filter((c) => c.kubernetes.inCluster);
    const namesIn = (resource: string, verb: string) =>
      [...new Set(rules.filter((r) => r.resources?.includes(resource) && r.verbs.includes(verb)).flatMap((r) => r.resourceNames ?? ['<any>']))].sort();
    const sorted = (names: string[]) => [...new Set(names)].sort();
    const workloads = sorted(clusters.flatMap((c) => [c.pachyderm.deployment, ...c.pachyderm.quiesce, ...c.ingress.deployments]));
    expect(namesIn('deployments', 'get')).toEqual(workloads);
    expect(namesIn('deployments/scale', 'patch')).toEqual(workloads);
    expect(namesIn('deployments', 'patch')).toEqual(sorted(clusters.map((c) => c.pachyderm.deployment)));
    const cronJobs = sorted(clusters.flatMap((c) => c.ingress.cronJobs));
    expect(namesIn('cronjobs', 'get')).toEqual(cronJobs);
    expect(namesIn('cronjobs', 'patch')).toEqual(cronJobs);
  });

  it('allows every permission preflight checks, for either pause strategy', () => {
    const { config } = loadDeployedConfig(objects, worker);
    for (const cluster of Object.values(config.clusters).filter((c) => c.kubernetes.inCluster)) {
      for (const pauseStrategy of ['scale', 'enterprise'] as const) {
        const variant: ClusterConfig = { ...cluster, pachyderm: { ...cluster.pachyderm, pauseStrategy } };
        for (const check of backupAccessChecks({ cluster: variant })) {
          const request = { verb: check.verb, group: check.group, resource: check.resource, subresource: check.subresource ?? '', ...(check.name ? { name: check.name } : {}) };
          expect((role.rules as PolicyRule[]).some((r) => ruleAllows(r, request)), `${pauseStrategy}: ${describeAccess(check)}`).toBe(true);
        }
      }
    }
  });
});

describe('deploy/ secrets', () => {
  it('keeps secret.example.yaml out of every kustomization, with placeholders only', () => {
    for (const dir of RENDERS) {
      const kustomization = parse(readFileSync(join(REPO, dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
      const listed = ['resources', 'components', 'generators', 'patches'].flatMap((field) => JSON.stringify(kustomization[field] ?? []));
      expect(listed.join(' ')).not.toContain('secret.example.yaml');
      expect(kustomization.secretGenerator, `${dir} must not generate Secrets with values`).toBeUndefined();
    }
    const values = Object.values(secretExample());
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) expect(value, 'a secret.example.yaml value is not a placeholder').toMatch(/REPLACE[-_]ME/);
    expect(existsSync(join(REPO, SECRET_EXAMPLE))).toBe(true);
  });
});
