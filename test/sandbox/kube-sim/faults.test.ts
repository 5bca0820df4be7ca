import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeSimulator } from '../../../src/sandbox/kube-sim/index.js';
import { clientsFor, mergePatch, NS, startTestSimulator, waitFor } from './kube-sim-harness.js';

let sim: KubeSimulator;
let clients: ReturnType<typeof clientsFor>;
beforeEach(async () => {
  sim = await startTestSimulator();
  clients = clientsFor(sim);
});
afterEach(async () => {
  await sim.close();
});

const putFaults = (body: unknown) => fetch(`${sim.url}/sandbox/faults`, { method: 'PUT', body: JSON.stringify(body) });

describe('kube-sim faults', () => {
  it('throttles with 429 TooManyRequests and Retry-After, as the apiserver does, for as many requests as asked', async () => {
    sim.faults.failures.push({ verb: 'get', resource: 'deployments', code: 429, retryAfterSeconds: 2, times: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${sim.url}/apis/apps/v1/namespaces/${NS}/deployments/pachd`);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 2 } });
    }
    expect((await fetch(`${sim.url}/apis/apps/v1/namespaces/${NS}/deployments/pachd`)).status).toBe(200);
  });

  it('fails a burst of requests until a time, then serves them again', async () => {
    await clients.core.listNamespacedPod({ namespace: NS }); // the client's first request is slower
    sim.faults.failures.push({ resource: 'pods', code: 500, until: Date.now() + 1000 });
    await expect(clients.core.listNamespacedPod({ namespace: NS })).rejects.toMatchObject({ code: 500 });
    await expect(clients.core.listNamespacedPod({ namespace: NS })).rejects.toMatchObject({ code: 500 });
    await waitFor('the burst to end', async () => (await clients.core.listNamespacedPod({ namespace: NS })).items.length > 0);
    expect(sim.faults.failures).toEqual([]);
  });

  it('is changed and read over HTTP at /sandbox/faults, refusing fields it does not know', async () => {
    const put = await putFaults({ failures: [{ resource: 'pods', code: 503, times: 1 }], stuckTerminating: ['default-edges-v1'] });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${sim.url}/sandbox/faults`)).json()).toMatchObject({ failures: [{ resource: 'pods', code: 503, times: 1 }], stuckTerminating: ['default-edges-v1'], neverReady: [] });
    await expect(clients.core.listNamespacedPod({ namespace: NS })).rejects.toMatchObject({ code: 503 });

    const bad = await putFaults({ failure: [] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe('unknown fault fields failure; expected some of neverReady, failures, stuckTerminating, dropWatchesAfterMs, latencyMs');
  });

  it('ends open watches on demand, and every watch after a while with dropWatchesAfterMs', async () => {
    const watch = new k8s.Watch(clients.kc);
    const ended = () =>
      new Promise<void>((resolve) => {
        void watch.watch(`/api/v1/namespaces/${NS}/pods`, {}, () => undefined, () => resolve());
      });
    const first = ended();
    await waitFor('the watch to be open', async () => {
      const res = await fetch(`${sim.url}/sandbox/faults/drop-watches`, { method: 'POST' });
      return ((await res.json()) as { dropped: number }).dropped > 0;
    });
    await first;

    await putFaults({ dropWatchesAfterMs: 200 });
    const started = Date.now();
    await ended();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('keeps pods of a stuckTerminating workload Terminating behind a finalizer until the fault is cleared', async () => {
    await putFaults({ stuckTerminating: ['default-edges-v1'] });
    const podsOf = async () => (await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'pipelineName=edges' })).items;
    await waitFor('the finalizer on the worker pods', async () => (await podsOf()).every((p) => p.metadata?.finalizers?.includes('kube-sim.sandbox/stuck-terminating')));
    await clients.core.patchNamespacedReplicationControllerScale({ name: 'default-edges-v1', namespace: NS, body: { spec: { replicas: 0 } } }, mergePatch);
    const stuck = await waitFor('the pods to be Terminating', async () => {
      const pods = await podsOf();
      return pods.length > 0 && pods.every((p) => p.metadata?.deletionTimestamp) ? pods : undefined;
    });
    await new Promise((r) => setTimeout(r, 300)); // many pod delays: a pod without the finalizer would be gone
    expect((await podsOf()).map((p) => p.metadata?.name)).toEqual(stuck.map((p) => p.metadata?.name));

    await putFaults({ stuckTerminating: [] });
    await waitFor('the pods to go', async () => (await podsOf()).length === 0);
  });
});
