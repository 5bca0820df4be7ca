import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../src/config/config.js';
import { createPachydermWorkloads } from '../../src/kubernetes/pachyderm-workloads.js';
import { startKubeSimulator, type KubeSimulator } from '../../src/sandbox/kube-sim/index.js';

const cluster: Pick<ClusterConfig, 'kubernetes' | 'pachyderm'> = {
  kubernetes: { inCluster: false, namespace: 'pachyderm' },
  pachyderm: { deployment: 'pachd', quiesce: ['pachw'], workerSelector: 'suite=pachyderm,component=worker', pauseStrategy: 'scale', helmRelease: 'pachyderm' },
};

let kube: KubeSimulator | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

async function start(podDelayMs: number) {
  kube = await startKubeSimulator({ podDelayMs });
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kube.kubeconfig('pachyderm'));
  // The server ends each watch after a second: waits longer than that must watch again to see the end.
  return { sim: kube, workloads: createPachydermWorkloads(kc, cluster, { watchTimeoutSeconds: 1 }) };
}

const watches = (sim: KubeSimulator, resource: string) => sim.requests().filter((r) => r.verb === 'watch' && r.resource === resource).length;

describe('waiting for pods and rollouts by watching', () => {
  it('sees the pods gone though the server ends its watches before they go, and a watch that is refused', async () => {
    const { sim, workloads } = await start(2500);
    sim.faults.failures.push({ verb: 'watch', resource: 'pods', code: 500, times: 1 });
    const seen: number[] = [];
    await Promise.all([workloads.scaleDeployment('pachd', 0), workloads.scaleDeployment('pachw', 0), ...(await workloads.listWorkers()).map((w) => workloads.scaleWorker(w.name, 0))]);
    await workloads.waitForPodsGone({ includePachd: true, timeoutMs: 20_000, onProgress: (left) => seen.push(left.length) });
    expect(await workloads.runningPods({ includePachd: true })).toEqual([]);
    expect(seen.at(-1)).toBe(0);
    // Three selectors, each refused once or ended by the server at least once before its pods went.
    expect(watches(sim, 'pods')).toBeGreaterThanOrEqual(6);
  });

  it('sees a rollout finish though its watches end, and names what it waited for when the time is up', async () => {
    const { sim, workloads } = await start(2500);
    await workloads.scaleDeployment('pachd', 2);
    const ready = await workloads.waitForDeploymentReady('pachd', { timeoutMs: 20_000 });
    expect(ready.status?.readyReplicas).toBe(2);
    expect(watches(sim, 'deployments')).toBeGreaterThanOrEqual(2);

    sim.faults.neverReady.push('pachd');
    await workloads.scaleDeployment('pachd', 3);
    await expect(workloads.waitForDeploymentReady('pachd', { timeoutMs: 2500 })).rejects.toMatchObject({
      code: 'timeout',
      message: expect.stringMatching(/Deployment pachd not ready after 3 s: .*\(2\/3 ready\)/),
    });
  });

  it('stops waiting when cancelled', async () => {
    const { workloads } = await start(5000);
    await workloads.scaleDeployment('pachw', 0);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    await expect(workloads.waitForPodsGone({ includePachd: false, timeoutMs: 20_000, signal: controller.signal })).rejects.toMatchObject({ code: 'cancelled' });
  });
});
