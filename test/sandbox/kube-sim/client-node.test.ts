import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeSimulator } from '../../../src/sandbox/kube-sim/index.js';
import { NS, clientsFor, mergePatch, startTestSimulator, strategicPatch, waitFor } from './kube-sim-harness.js';

async function apiError(promise: Promise<unknown>): Promise<k8s.ApiException<string>> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof k8s.ApiException) return err as k8s.ApiException<string>;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('@kubernetes/client-node against the simulator', () => {
  let sim: KubeSimulator;
  let clients: ReturnType<typeof clientsFor>;

  beforeEach(async () => {
    sim = await startTestSimulator();
    clients = clientsFor(sim);
  });

  afterEach(async () => {
    await sim.close();
  });

  it('lists pods by label selector', async () => {
    const workers = await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'suite=pachyderm,component=worker' });
    expect(workers.items).toHaveLength(4);
    expect(workers.kind).toBe('PodList');
    expect(workers.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(workers.items.every((p) => p.status?.phase === 'Running')).toBe(true);

    const resize = await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'pipelineName in (resize),pipelineProject=images' });
    expect(resize.items.map((p) => p.metadata?.name)).toEqual([expect.stringMatching(/^images-resize-v3-[a-z0-9]{5}$/), expect.stringMatching(/^images-resize-v3-/)]);

    const notWorkers = await clients.core.listNamespacedPod({ namespace: NS, labelSelector: '!component,app notin (pachd,etcd)' });
    expect(notWorkers.items.map((p) => p.metadata?.labels?.app).sort()).toEqual(['console', 'ingest-gateway', 'ingest-gateway', 'pachw', 'pachyderm-proxy', 'pg-bouncer']);

    const byField = await clients.core.listNamespacedPod({ namespace: NS, fieldSelector: 'status.phase=Running', labelSelector: 'app=pachd' });
    expect(byField.items).toHaveLength(1);

    const bad = await apiError(clients.core.listNamespacedPod({ namespace: NS, fieldSelector: 'spec.containers=x' }));
    expect(bad.code).toBe(400);
  });

  it('pages through a list with limit and continue', async () => {
    const all = await clients.core.listNamespacedPod({ namespace: NS });
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await clients.core.listNamespacedPod({ namespace: NS, limit: 4, ...(token ? { _continue: token } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(4);
      names.push(...page.items.map((p) => p.metadata?.name ?? ''));
      token = page.metadata?._continue;
    } while (token);
    expect(names).toEqual(all.items.map((p) => p.metadata?.name));
  });

  it('scales a deployment with a merge patch to /scale and the pods follow', async () => {
    const scale = await clients.apps.patchNamespacedDeploymentScale({ name: 'pachd', namespace: NS, body: { spec: { replicas: 3 } } }, mergePatch);
    expect(scale.kind).toBe('Scale');
    expect(scale.spec?.replicas).toBe(3);
    expect(scale.status?.selector).toBe('app=pachd,suite=pachyderm');
    await waitFor('pachd to have 3 ready replicas', async () => {
      const d = await clients.apps.readNamespacedDeployment({ name: 'pachd', namespace: NS });
      return d.status?.readyReplicas === 3 && d.status.observedGeneration === d.metadata?.generation;
    });
    const pods = await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=pachd' });
    expect(pods.items).toHaveLength(3);
    const rs = pods.items[0]?.metadata?.ownerReferences?.[0];
    expect(rs?.kind).toBe('ReplicaSet');
    expect(rs?.controller).toBe(true);
  });

  it('scales a worker RC through readNamespacedReplicationControllerScale / replace', async () => {
    const scale = await clients.core.readNamespacedReplicationControllerScale({ name: 'images-resize-v3', namespace: NS });
    expect(scale.spec?.replicas).toBe(2);
    expect(scale.status?.replicas).toBe(2);
    scale.spec = { replicas: 0 };
    await clients.core.replaceNamespacedReplicationControllerScale({ name: 'images-resize-v3', namespace: NS, body: scale });
    await waitFor('resize workers to be gone', async () => {
      const pods = await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'pipelineName=resize' });
      return pods.items.length === 0;
    });
    const rc = await clients.core.readNamespacedReplicationController({ name: 'images-resize-v3', namespace: NS });
    expect(rc.status?.replicas).toBe(0);
    expect(rc.status?.readyReplicas).toBeUndefined();
  });

  it('watches pods and sees them DELETED after scaling to zero', async () => {
    const events: Array<{ type: string; name: string; deleting: boolean }> = [];
    const watch = new k8s.Watch(clients.kc);
    const initial = await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'component=worker' });
    let ended = false;
    const controller = await watch.watch(
      `/api/v1/namespaces/${NS}/pods`,
      { labelSelector: 'component=worker', resourceVersion: initial.metadata?.resourceVersion },
      (type, obj: k8s.V1Pod) => events.push({ type, name: obj.metadata?.name ?? '', deleting: Boolean(obj.metadata?.deletionTimestamp) }),
      () => {
        ended = true;
      },
    );
    try {
      for (const rc of ['default-edges-v1', 'default-montage-v1', 'images-resize-v3']) {
        await clients.core.patchNamespacedReplicationControllerScale({ name: rc, namespace: NS, body: { spec: { replicas: 0 } } }, mergePatch);
      }
      await waitFor('four DELETED events', () => events.filter((e) => e.type === 'DELETED').length === 4);
      const deletedNames = events.filter((e) => e.type === 'DELETED').map((e) => e.name);
      expect(new Set(deletedNames)).toEqual(new Set(initial.items.map((p) => p.metadata?.name)));
      // Each pod was first seen terminating (MODIFIED with deletionTimestamp), then DELETED.
      expect(events.some((e) => e.type === 'MODIFIED' && e.deleting)).toBe(true);
      expect(events.some((e) => e.type === 'ADDED')).toBe(false);
    } finally {
      controller.abort();
    }
    await waitFor('the watch to end after abort', () => ended);
  });

  it('sends existing objects as ADDED when a watch starts without a resourceVersion', async () => {
    const added: string[] = [];
    const watch = new k8s.Watch(clients.kc);
    const controller = await watch.watch(
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      { fieldSelector: 'metadata.name=pachd' },
      (type, obj: k8s.V1Deployment) => {
        if (type === 'ADDED') added.push(obj.metadata?.name ?? '');
      },
      () => undefined,
    );
    try {
      await waitFor('pachd to be ADDED', () => added.length === 1);
      expect(added).toEqual(['pachd']);
    } finally {
      controller.abort();
    }
  });

  it('feeds an informer that sees pods added and deleted', async () => {
    const informer = k8s.makeInformer(clients.kc, `/api/v1/namespaces/${NS}/pods`, () => clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=pachd' }), 'app=pachd');
    const seen: string[] = [];
    informer.on('add', (p) => seen.push(`add ${p.metadata?.name ?? ''}`));
    informer.on('delete', (p) => seen.push(`delete ${p.metadata?.name ?? ''}`));
    await informer.start();
    try {
      await waitFor('the pachd pod to be added', () => seen.length === 1);
      const name = seen[0]?.slice('add '.length);
      await clients.apps.patchNamespacedDeploymentScale({ name: 'pachd', namespace: NS, body: { spec: { replicas: 0 } } }, mergePatch);
      await waitFor('the pachd pod to be deleted', () => seen.includes(`delete ${name ?? ''}`));
    } finally {
      await informer.stop();
    }
  });

  it('answers a missing object with 404 as an ApiException', async () => {
    const err = await apiError(clients.apps.readNamespacedDeployment({ name: 'no-such-thing', namespace: NS }));
    expect(err.code).toBe(404);
    const status = JSON.parse(err.body) as { kind: string; reason: string; message: string };
    expect(status).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'deployments.apps "no-such-thing" not found' });
  });

  it('refuses an update carrying a stale resourceVersion with 409', async () => {
    const cm = await clients.core.readNamespacedConfigMap({ name: 'pachd-config', namespace: NS });
    const stale = structuredClone(cm);
    cm.data = { ...cm.data, MODE: 'paused' };
    const updated = await clients.core.replaceNamespacedConfigMap({ name: 'pachd-config', namespace: NS, body: cm });
    expect(updated.metadata?.resourceVersion).not.toBe(stale.metadata?.resourceVersion);
    stale.data = { MODE: 'full', other: 'x' };
    const err = await apiError(clients.core.replaceNamespacedConfigMap({ name: 'pachd-config', namespace: NS, body: stale }));
    expect(err.code).toBe(409);
    expect(JSON.parse(err.body)).toMatchObject({ reason: 'Conflict' });
    const current = await clients.core.readNamespacedConfigMap({ name: 'pachd-config', namespace: NS });
    expect(current.data).toEqual({ MODE: 'paused' });
  });

  it('refuses a duplicate create with 409 AlreadyExists and a bad object with 422', async () => {
    const dup = await apiError(clients.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'pachd-config' }, data: {} } }));
    expect(dup.code).toBe(409);
    expect(JSON.parse(dup.body)).toMatchObject({ reason: 'AlreadyExists' });
    const bad = await apiError(
      clients.apps.createNamespacedDeployment({
        namespace: NS,
        body: { metadata: { name: 'mismatch' }, spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } } } },
      }),
    );
    expect(bad.code).toBe(422);
    expect(JSON.parse(bad.body)).toMatchObject({ reason: 'Invalid' });
  });

  it('applies a strategic merge patch that merges containers by name', async () => {
    await clients.apps.patchNamespacedDeployment(
      {
        name: 'pachd',
        namespace: NS,
        body: { spec: { template: { spec: { containers: [{ name: 'pachd', env: [{ name: 'LOG_LEVEL', value: 'debug' }] }] } } } },
      },
      strategicPatch,
    );
    const d = await clients.apps.readNamespacedDeployment({ name: 'pachd', namespace: NS });
    const containers = d.spec?.template.spec?.containers ?? [];
    expect(containers).toHaveLength(1);
    expect(containers[0]?.image).toBe('pachyderm/pachd:2.11.6');
    const env = containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'LOG_LEVEL')?.value).toBe('debug');
    expect(env.find((e) => e.name === 'POSTGRES_DATABASE')?.value).toBe('pachyderm');
    expect(d.metadata?.generation).toBe(2);
  });

  it('answers an unknown patch content type with 415', async () => {
    const err = await apiError(
      clients.apps.patchNamespacedDeployment(
        { name: 'pachd', namespace: NS, body: { spec: { replicas: 2 } } },
        k8s.setHeaderOptions('Content-Type', 'application/apply-patch+yaml'),
      ),
    );
    expect(err.code).toBe(415);
  });

  it('answers SelfSubjectAccessReviews from the denied rules and enforces them with 403', async () => {
    const ask = async (verb: string, resource: string, subresource = '', group = 'apps') =>
      (await clients.authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: NS, verb, group, resource, subresource } } } })).status?.allowed;
    expect(await ask('patch', 'deployments', 'scale')).toBe(true);
    sim.denied.push({ verb: 'patch', group: '', resource: 'replicationcontrollers', subresource: 'scale' });
    expect(await ask('patch', 'replicationcontrollers', 'scale', '')).toBe(false);
    expect(await ask('get', 'replicationcontrollers', '', '')).toBe(true);
    const err = await apiError(
      clients.core.patchNamespacedReplicationControllerScale({ name: 'default-edges-v1', namespace: NS, body: { spec: { replicas: 0 } } }, mergePatch),
    );
    expect(err.code).toBe(403);
    expect(JSON.parse(err.body)).toMatchObject({ reason: 'Forbidden' });
  });

  it('fails requests on purpose when a failure is injected', async () => {
    sim.faults.failures.push({ verb: 'list', resource: 'pods', times: 1 });
    const err = await apiError(clients.core.listNamespacedPod({ namespace: NS }));
    expect(err.code).toBe(500);
    const ok = await clients.core.listNamespacedPod({ namespace: NS });
    expect(ok.items.length).toBeGreaterThan(0);
  });

  it('keeps pods of a never-ready deployment unready', async () => {
    sim.faults.neverReady.push('pachd');
    await clients.apps.patchNamespacedDeployment(
      { name: 'pachd', namespace: NS, body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } } },
      strategicPatch,
    );
    const stuck = await waitFor('the new pachd pod to be Running but not Ready', async () => {
      const pods = await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=pachd' });
      return pods.items.find((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'False'));
    });
    expect(stuck.metadata?.deletionTimestamp).toBeUndefined();
    const d = await clients.apps.readNamespacedDeployment({ name: 'pachd', namespace: NS });
    expect(d.status?.readyReplicas ?? 0).toBe(0);
    expect(d.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('False');
  });

  it('deletes a deployment and garbage-collects its ReplicaSet and pods', async () => {
    await clients.apps.deleteNamespacedDeployment({ name: 'ingest-gateway', namespace: NS });
    await waitFor('ingest-gateway pods and ReplicaSet to be gone', async () => {
      const pods = await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=ingest-gateway' });
      const rs = await clients.apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=ingest-gateway' });
      return pods.items.length === 0 && rs.items.length === 0;
    });
  });

  it('suspends a CronJob with a merge patch', async () => {
    const cj = await clients.batch.patchNamespacedCronJob({ name: 'ingest-uploads', namespace: NS, body: { spec: { suspend: true } } }, mergePatch);
    expect(cj.spec?.suspend).toBe(true);
    expect(cj.spec?.schedule).toBe('*/5 * * * *');
    const jobs = await clients.batch.listNamespacedJob({ namespace: NS });
    expect(jobs.items).toEqual([]);
  });
});
