import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KINDS, PIPELINE_REPLICAS_ANNOTATION, type KubeSimulator } from '../../../src/sandbox/kube-sim/index.js';
import { NS, clientsFor, mergePatch, podNames, startTestSimulator, strategicPatch, waitFor } from './kube-sim-harness.js';

type Clients = ReturnType<typeof clientsFor>;

const WORKERS = { 'default-edges-v1': 1, 'default-montage-v1': 1, 'images-resize-v3': 2 } as const;

async function workerReplicas(clients: Clients): Promise<Record<string, number>> {
  const rcs = await clients.core.listNamespacedReplicationController({ namespace: NS, labelSelector: 'suite=pachyderm,component=worker' });
  return Object.fromEntries(rcs.items.map((rc) => [rc.metadata?.name ?? '', rc.spec?.replicas ?? -1]));
}

/** What `pachctl enterprise pause`/`unpause` does: set MODE in pachd-config, then roll pachd. */
async function setModeAndRoll(clients: Clients, mode: 'paused' | 'full'): Promise<void> {
  await clients.core.patchNamespacedConfigMap(
    { name: 'pachd-config', namespace: NS, body: { metadata: { annotations: { 'pachyderm.com/updatedAt': new Date().toISOString() } }, data: { MODE: mode } } },
    mergePatch,
  );
  await clients.apps.patchNamespacedDeployment(
    { name: 'pachd', namespace: NS, body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': `${new Date().toISOString()}-${mode}` } } } } } },
    strategicPatch,
  );
}

async function pachdRolledOut(clients: Clients): Promise<boolean> {
  const d = await clients.apps.readNamespacedDeployment({ name: 'pachd', namespace: NS });
  const s = d.status;
  return (
    s?.observedGeneration === d.metadata?.generation &&
    s?.updatedReplicas === d.spec?.replicas &&
    s?.readyReplicas === d.spec?.replicas &&
    s?.replicas === d.spec?.replicas
  );
}

describe('Pachyderm behaviour of the simulated cluster', () => {
  let sim: KubeSimulator;
  let clients: Clients;

  beforeEach(async () => {
    sim = await startTestSimulator();
    clients = clientsFor(sim);
  });

  afterEach(async () => {
    await sim.close();
  });

  it('starts with every worker RC at its pipeline replica count and Ready pods', async () => {
    expect(await workerReplicas(clients)).toEqual(WORKERS);
    for (const [name, replicas] of Object.entries(WORKERS)) {
      const rc = sim.store.mustGet(KINDS.replicationController, NS, name);
      expect(rc.metadata.annotations?.[PIPELINE_REPLICAS_ANNOTATION]).toBe(String(replicas));
    }
    expect(podNames(sim, (l) => l.component === 'worker')).toHaveLength(4);
  });

  it('pauses like pachctl enterprise pause: a pachd restarted in paused mode scales workers to 0', async () => {
    await setModeAndRoll(clients, 'paused');
    await waitFor('every worker RC at 0', async () => Object.values(await workerReplicas(clients)).every((r) => r === 0));
    await waitFor('worker pods to be gone', () => podNames(sim, (l) => l.component === 'worker').length === 0);
    await waitFor('pachd rolled out (running paused)', () => pachdRolledOut(clients));

    await setModeAndRoll(clients, 'full');
    await waitFor('workers back at their pipeline replicas', async () => JSON.stringify(await workerReplicas(clients)) === JSON.stringify(WORKERS));
    await waitFor('four Ready worker pods', async () => {
      const pods = await clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'suite=pachyderm,component=worker' });
      return pods.items.length === 4 && pods.items.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    });
  });

  it('brings workers back when pachd scales up again after a manual pause', async () => {
    await clients.apps.patchNamespacedDeploymentScale({ name: 'pachd', namespace: NS, body: { spec: { replicas: 0 } } }, mergePatch);
    await waitFor('pachd pods gone', () => podNames(sim, (l) => l.app === 'pachd').length === 0);
    for (const name of Object.keys(WORKERS)) {
      await clients.core.patchNamespacedReplicationControllerScale({ name, namespace: NS, body: { spec: { replicas: 0 } } }, mergePatch);
    }
    await waitFor('worker pods gone', () => podNames(sim, (l) => l.component === 'worker').length === 0);

    // With pachd down nothing brings the workers back (the backup tool holds them at 0).
    const seen = await clients.core.listNamespacedReplicationController({ namespace: NS, labelSelector: 'component=worker' });
    expect(seen.items.every((rc) => rc.spec?.replicas === 0 && rc.status?.replicas === 0)).toBe(true);

    await clients.apps.patchNamespacedDeploymentScale({ name: 'pachd', namespace: NS, body: { spec: { replicas: 1 } } }, mergePatch);
    await waitFor('workers back at their pipeline replicas', async () => JSON.stringify(await workerReplicas(clients)) === JSON.stringify(WORKERS));
    await waitFor('four worker pods', () => podNames(sim, (l) => l.component === 'worker').length === 4);
  });

  it('keeps workers paused across a pachd restart while MODE stays paused', async () => {
    await setModeAndRoll(clients, 'paused');
    await waitFor('workers at 0', async () => Object.values(await workerReplicas(clients)).every((r) => r === 0));
    await waitFor('pachd rolled out', () => pachdRolledOut(clients));
    // A second restart (e.g. a Helm upgrade while paused) leaves the cluster paused.
    await clients.apps.patchNamespacedDeployment(
      { name: 'pachd', namespace: NS, body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'again' } } } } } },
      strategicPatch,
    );
    await waitFor('pachd rolled out again', async () => {
      const pods = sim.store.list(KINDS.pod, NS).filter((p) => p.metadata.labels?.app === 'pachd');
      return pods.length === 1 && pods[0]?.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] === 'again' && (await pachdRolledOut(clients));
    });
    expect(Object.values(await workerReplicas(clients)).every((r) => r === 0)).toBe(true);
  });

  it('works with no pod delay at all', async () => {
    await sim.close();
    sim = await startTestSimulator({ podDelayMs: 0 });
    clients = clientsFor(sim);
    await setModeAndRoll(clients, 'paused');
    await waitFor('worker pods gone', () => podNames(sim, (l) => l.component === 'worker').length === 0);
    await setModeAndRoll(clients, 'full');
    await waitFor('four worker pods', () => podNames(sim, (l) => l.component === 'worker').length === 4);
    expect(await workerReplicas(clients)).toEqual(WORKERS);
  });
});
