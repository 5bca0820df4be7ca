/**
 * The Role in deploy/ against what the code really does: real backups (both pause strategies, including the
 * path that creates pachd-config), `status` and `estimate` run against the Kubernetes simulator, which records
 * every request. Every request must be allowed by the Role, and every permission of the Role must be used —
 * so this fails when the code gains a Kubernetes call the Role does not allow, and when the Role keeps a
 * permission nothing needs any more.
 */
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import type { ClusterConfig } from '../../src/config/config.js';
import { probeUpcomingBackup } from '../../src/estimate/probe.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { backupDepsFor } from '../../src/runtime/backup-deps-for.js';
import { KINDS, PACHD_CONFIG_MAP, startKubeSimulator, type KubeSimulator, type RecordedRequest } from '../../src/sandbox/kube-sim/index.js';
import { clusterStatus } from '../../src/status/cluster-status.js';
import { createPachydermFixture, quietLogger } from '../support/pachyderm-fixture.js';
import {
  RENDERS,
  atomsOf,
  describeAtom,
  describeRequest,
  loadDeployedConfig,
  mustFind,
  renderKustomization,
  requestUses,
  ruleAllows,
  type PolicyRule,
  type RenderedObject,
} from './kustomize.js';

/** SelfSubjectAccessReviews are allowed to every authenticated user (system:basic-user): not the Role's business. */
const isAccessReview = (r: RecordedRequest) => r.group === 'authorization.k8s.io' && r.resource === 'selfsubjectaccessreviews';

/** What one Role is checked against: the Pachyderm-facing parts of the config deployed with it. */
interface Scenario {
  renders: string[];
  role: RenderedObject;
  /** The in-cluster Pachyderm the Role is for, as the deployed config describes it. */
  cluster: ClusterConfig;
}

interface Observed {
  requests: RecordedRequest[];
  namespace: string;
  backups: Record<'scale' | 'enterprise', BackupResult>;
  pachdConfigCreated: boolean;
}

/**
 * Runs everything pachbackup does to a cluster, with the deployed config's workload names, against a seeded
 * simulator, and returns the requests it made: a backup with the scale pause; a backup with the enterprise
 * pause on a cluster that was never enterprise-paused (no pachd-config yet, so pachbackup creates it, as
 * pachd's own Pause does); `status`; and the estimate's probe.
 */
async function observe(cluster: ClusterConfig): Promise<Observed> {
  // Pods take a second to stop, so the pause has to wait for them — watching, as in a real cluster.
  const f = await createPachydermFixture({
    objects: 12,
    podDelayMs: 1500,
    editConfig: (raw) => {
      const { deployment, quiesce, workerSelector, helmRelease } = cluster.pachyderm;
      raw.clusters.test.pachyderm = { deployment, quiesce, workerSelector, helmRelease };
      raw.clusters.test.ingress = { cronJobs: cluster.ingress.cronJobs, deployments: cluster.ingress.deployments };
    },
  });
  try {
    const namespace = f.cluster.kubernetes.namespace;
    f.kube.clearRequests();
    const backups = {} as Observed['backups'];
    for (const pauseStrategy of ['scale', 'enterprise'] as const) {
      if (pauseStrategy === 'enterprise') f.kube.store.delete(KINDS.configMap, namespace, PACHD_CONFIG_MAP);
      const variant: ClusterConfig = { ...f.cluster, pachyderm: { ...f.cluster.pachyderm, pauseStrategy } };
      const deps = backupDepsFor(variant, f.state, { id: newBackupId(variant.name), requestedBy: 'rbac-test' });
      try {
        backups[pauseStrategy] = await runBackup({ deps, events: createRunEvents(), log: quietLogger });
      } finally {
        deps.close();
      }
    }
    const pachdConfigCreated = (f.kube.store.get(KINDS.configMap, namespace, PACHD_CONFIG_MAP)?.data as Record<string, string> | undefined)?.MODE === 'full';

    const deps = backupDepsFor(f.cluster, f.state, { id: newBackupId(f.cluster.name), requestedBy: 'rbac-test' });
    try {
      const status = await clusterStatus({ cluster: f.cluster, workloads: deps.workloads, catalog: deps.catalog, locks: f.state.locks, runs: f.state.runs });
      expect(status.reachable, status.error).toBe(true);
      const upcoming = await probeUpcomingBackup({ cluster: f.cluster, workloads: deps.workloads, clusterS3: deps.clusterS3, catalog: deps.catalog });
      expect(upcoming.replicas, upcoming.warnings.join('; ')).toBeDefined();
    } finally {
      deps.close();
    }
    return { requests: f.kube.requests().filter((r) => !isAccessReview(r)), namespace, backups, pachdConfigCreated };
  } finally {
    await f.cleanup();
  }
}

describe('the Role in deploy/ against the Kubernetes calls pachbackup makes', () => {
  const observed: { scenario: Scenario; result: Observed }[] = [];

  beforeAll(async () => {
    // One run per distinct Role and set of workload names; the base and the example overlay usually share them.
    const scenarios = new Map<string, Scenario>();
    for (const dir of RENDERS) {
      const objects = await renderKustomization(dir);
      const role = mustFind(objects, 'Role', 'pachbackup');
      const { config } = loadDeployedConfig(objects, mustFind(objects, 'Deployment', 'pachbackup-worker'));
      for (const cluster of Object.values(config.clusters).filter((c) => c.kubernetes.inCluster)) {
        const { deployment, quiesce, workerSelector, helmRelease } = cluster.pachyderm;
        const key = JSON.stringify([role.rules, deployment, quiesce, workerSelector, helmRelease, cluster.ingress]);
        const known = scenarios.get(key);
        if (known) known.renders.push(dir);
        else scenarios.set(key, { renders: [dir], role, cluster });
      }
    }
    for (const scenario of scenarios.values()) observed.push({ scenario, result: await observe(scenario.cluster) });
  }, 600_000);

  it('ran real backups with both pause strategies, creating pachd-config when the cluster had none', () => {
    expect(observed.length).toBeGreaterThan(0);
    for (const { result } of observed) {
      expect(result.backups.scale.status, result.backups.scale.error).toBe('succeeded');
      expect(result.backups.enterprise.status, result.backups.enterprise.error).toBe('succeeded');
      expect(result.pachdConfigCreated).toBe(true);
    }
  });

  it('makes every request in the Pachyderm namespace, and the Role allows each one', () => {
    for (const { scenario, result } of observed) {
      const rules = scenario.role.rules as PolicyRule[];
      const elsewhere = result.requests.filter((r) => r.namespace !== result.namespace).map((r) => `${describeRequest(r)} in ${r.namespace ?? 'the cluster scope'}`);
      expect(elsewhere, 'a Role only grants access in its own namespace').toEqual([]);
      const denied = [...new Set(result.requests.filter((r) => !rules.some((rule) => ruleAllows(rule, r))).map(describeRequest))];
      expect(denied, `Role ${scenario.role.metadata.namespace}/pachbackup (${scenario.renders.join(', ')}) does not allow`).toEqual([]);
    }
  });

  it('uses every permission the Role grants (nothing more than needed)', () => {
    for (const { scenario, result } of observed) {
      const unused = (scenario.role.rules as PolicyRule[]).flatMap(atomsOf).filter((atom) => !result.requests.some((r) => requestUses(r, atom)));
      expect(unused.map(describeAtom), `granted by the Role (${scenario.renders.join(', ')}) but never used`).toEqual([]);
    }
  });
});

describe('RBAC rule evaluation, as the apiserver does it', () => {
  const request = (verb: string, group: string, resource: string, subresource = '', name?: string) => ({ verb, group, resource, subresource, ...(name ? { name } : {}) });

  it('matches a subresource only when the rule lists resource/subresource (or */subresource)', () => {
    const deployments: PolicyRule = { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] };
    expect(ruleAllows(deployments, request('patch', 'apps', 'deployments', '', 'pachd'))).toBe(true);
    expect(ruleAllows(deployments, request('patch', 'apps', 'deployments', 'scale', 'pachd'))).toBe(false);
    expect(ruleAllows({ ...deployments, resources: ['deployments/scale'] }, request('patch', 'apps', 'deployments', 'scale', 'pachd'))).toBe(true);
    expect(ruleAllows({ ...deployments, resources: ['*/scale'] }, request('patch', 'apps', 'deployments', 'scale', 'pachd'))).toBe(true);
    expect(ruleAllows({ ...deployments, resources: ['deployments/scale'] }, request('patch', 'apps', 'deployments', '', 'pachd'))).toBe(false);
  });

  it('never lets a rule with resourceNames match a request without a name (list, watch, create)', () => {
    const named: PolicyRule = { apiGroups: [''], resources: ['configmaps'], resourceNames: ['pachd-config'], verbs: ['get', 'create', 'list'] };
    expect(ruleAllows(named, request('get', '', 'configmaps', '', 'pachd-config'))).toBe(true);
    expect(ruleAllows(named, request('get', '', 'configmaps', '', 'other'))).toBe(false);
    expect(ruleAllows(named, request('create', '', 'configmaps'))).toBe(false);
    expect(ruleAllows(named, request('list', '', 'configmaps'))).toBe(false);
  });

  it('matches API group, verb and resource exactly, or by *', () => {
    const rule: PolicyRule = { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['get'] };
    expect(ruleAllows(rule, request('get', 'batch', 'cronjobs', '', 'x'))).toBe(true);
    expect(ruleAllows(rule, request('get', 'apps', 'cronjobs', '', 'x'))).toBe(false);
    expect(ruleAllows(rule, request('patch', 'batch', 'cronjobs', '', 'x'))).toBe(false);
    expect(ruleAllows({ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, request('delete', 'apps', 'deployments', '', 'x'))).toBe(true);
  });
});

describe('the Kubernetes simulator\'s request log', () => {
  let sim: KubeSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('records each resource request in RBAC terms, refused ones too, and no discovery', async () => {
    sim = await startKubeSimulator({ podDelayMs: 0, denied: [{ verb: 'list', resource: 'secrets' }] });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(sim.kubeconfig('pachyderm'));
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    sim.clearRequests();
    await fetch(`${sim.url}/apis/apps/v1`);
    await apps.readNamespacedDeployment({ name: 'pachd', namespace: 'pachyderm' });
    await apps.patchNamespacedDeploymentScale(
      { name: 'pachd', namespace: 'pachyderm', body: { spec: { replicas: 1 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await expect(core.listNamespacedSecret({ namespace: 'pachyderm' })).rejects.toMatchObject({ code: 403 });
    expect(sim.requests()).toEqual([
      { verb: 'get', group: 'apps', resource: 'deployments', subresource: '', namespace: 'pachyderm', name: 'pachd' },
      { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'pachyderm', name: 'pachd' },
      { verb: 'list', group: '', resource: 'secrets', subresource: '', namespace: 'pachyderm' },
    ]);
    sim.clearRequests();
    expect(sim.requests()).toEqual([]);
  });

  it('keeps only the newest requestLogLimit requests', async () => {
    sim = await startKubeSimulator({ podDelayMs: 0, requestLogLimit: 3 });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(sim.kubeconfig('pachyderm'));
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    for (const name of ['pachd', 'pachw', 'console', 'pg-bouncer', 'pachyderm-proxy']) await apps.readNamespacedDeployment({ name, namespace: 'pachyderm' });
    const names = sim.requests().map((r) => r.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names.length).toBeLessThanOrEqual(3);
    expect(names.at(-1)).toBe('pachyderm-proxy');
  });
});
