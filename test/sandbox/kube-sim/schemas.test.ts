import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { Deployment, ReplicaSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { Scale } from 'kubernetes-models/autoscaling/v1';
import { SelfSubjectAccessReview } from 'kubernetes-models/authorization.k8s.io/v1';
import { ConfigMap, Namespace, Node, Pod, ReplicationController, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { KubeSimulator } from '../../../src/sandbox/kube-sim/index.js';
import { NS, startTestSimulator } from './kube-sim-harness.js';

/** Validates one object with the kubernetes-models class for its kind; throws on a schema violation. */
type Validator = (obj: unknown) => void;
const validators: Record<string, Validator> = {
  Deployment: (o) => new Deployment(o as never).validate(),
  ReplicaSet: (o) => new ReplicaSet(o as never).validate(),
  StatefulSet: (o) => new StatefulSet(o as never).validate(),
  ReplicationController: (o) => new ReplicationController(o as never).validate(),
  Pod: (o) => new Pod(o as never).validate(),
  ConfigMap: (o) => new ConfigMap(o as never).validate(),
  Secret: (o) => new Secret(o as never).validate(),
  Service: (o) => new Service(o as never).validate(),
  ServiceAccount: (o) => new ServiceAccount(o as never).validate(),
  Namespace: (o) => new Namespace(o as never).validate(),
  Node: (o) => new Node(o as never).validate(),
  CronJob: (o) => new CronJob(o as never).validate(),
  Job: (o) => new Job(o as never).validate(),
  Scale: (o) => new Scale(o as never).validate(),
  SelfSubjectAccessReview: (o) => new SelfSubjectAccessReview(o as never).validate(),
};

async function getJson(sim: KubeSimulator, path: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const res = await fetch(`${sim.url}${path}`, init);
  expect(res.status, `${path}: ${res.status}`).toBeLessThan(300);
  expect(res.headers.get('content-type')).toBe('application/json');
  return (await res.json()) as Record<string, unknown>;
}

describe('objects served by the simulator validate against the Kubernetes schemas', () => {
  let sim: KubeSimulator;

  beforeAll(async () => {
    sim = await startTestSimulator();
    // Put every workload through a change so controller-written status is validated too.
    await fetch(`${sim.url}/apis/apps/v1/namespaces/${NS}/deployments/pachd/scale`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: 2 } }),
    });
  });

  afterAll(async () => {
    await sim.close();
  });

  const lists: Array<[string, string]> = [
    ['Deployment', `/apis/apps/v1/namespaces/${NS}/deployments`],
    ['ReplicaSet', `/apis/apps/v1/namespaces/${NS}/replicasets`],
    ['StatefulSet', `/apis/apps/v1/namespaces/${NS}/statefulsets`],
    ['ReplicationController', `/api/v1/namespaces/${NS}/replicationcontrollers`],
    ['Pod', `/api/v1/namespaces/${NS}/pods`],
    ['ConfigMap', `/api/v1/namespaces/${NS}/configmaps`],
    ['Secret', `/api/v1/namespaces/${NS}/secrets`],
    ['Service', `/api/v1/namespaces/${NS}/services`],
    ['ServiceAccount', `/api/v1/namespaces/${NS}/serviceaccounts`],
    ['Namespace', '/api/v1/namespaces'],
    ['Node', '/api/v1/nodes'],
    ['CronJob', `/apis/batch/v1/namespaces/${NS}/cronjobs`],
  ];

  it.each(lists)('every %s, read one by one, is valid and names its kind', async (kind, path) => {
    const list = await getJson(sim, path);
    expect(list.kind).toBe(`${kind}List`);
    const items = list.items as Array<{ metadata: { name: string } }>;
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      expect(item).not.toHaveProperty('kind'); // list items carry no kind, like the apiserver's
      const one = await getJson(sim, `${path}/${item.metadata.name}`);
      expect(one.kind).toBe(kind);
      const validate = validators[kind];
      expect(validate, kind).toBeDefined();
      expect(() => validate?.(one), `${kind} ${item.metadata.name}`).not.toThrow();
      const meta = one.metadata as Record<string, unknown>;
      expect(meta.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(meta.resourceVersion).toMatch(/^\d+$/);
      expect(meta.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  });

  it('serves valid Scale objects for deployments, RCs and statefulsets', async () => {
    for (const path of [
      `/apis/apps/v1/namespaces/${NS}/deployments/pachd/scale`,
      `/api/v1/namespaces/${NS}/replicationcontrollers/images-resize-v3/scale`,
      `/apis/apps/v1/namespaces/${NS}/statefulsets/etcd/scale`,
    ]) {
      const scale = await getJson(sim, path);
      expect(scale.apiVersion).toBe('autoscaling/v1');
      expect(() => validators.Scale?.(scale)).not.toThrow();
    }
  });

  it('answers a valid SelfSubjectAccessReview', async () => {
    const review = await getJson(sim, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'get', resource: 'secrets', namespace: NS } } }),
    });
    expect(() => validators.SelfSubjectAccessReview?.(review)).not.toThrow();
    expect((review.status as { allowed: boolean }).allowed).toBe(true);
  });

  it('sets generation, status and ownership the way controllers do', async () => {
    const deploy = await getJson(sim, `/apis/apps/v1/namespaces/${NS}/deployments/pachd`);
    const meta = deploy.metadata as { generation: number };
    expect(meta.generation).toBe(2);
    const pod = ((await getJson(sim, `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dpachd`)).items as Array<Record<string, unknown>>)[0] as {
      metadata: { ownerReferences: Array<{ kind: string; controller: boolean }> };
      spec: { nodeName: string };
      status: { phase: string; conditions: Array<{ type: string }> };
    };
    expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', controller: true });
    expect(pod.spec.nodeName).toBe('kube-sim-node-1');
    expect(pod.status.conditions.map((c) => c.type)).toContain('Ready');
  });
});
