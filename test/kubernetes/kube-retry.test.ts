import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KUBE_RETRY_POLICY, retryingApi } from '../../src/kubernetes/kube-retry.js';
import { withRetryNotices, type RetryNotice } from '../../src/runner/retry-notices.js';
import { startKubeSimulator, type KubeSimulator } from '../../src/sandbox/kube-sim/index.js';

let sims: KubeSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

async function simulator(port?: number): Promise<KubeSimulator> {
  const sim = await startKubeSimulator({ podDelayMs: 10, ...(port ? { port } : {}) });
  sims.push(sim);
  return sim;
}

function appsOf(sim: KubeSimulator, policy = KUBE_RETRY_POLICY) {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(sim.kubeconfig('pachyderm'));
  return retryingApi(kc.makeApiClient(k8s.AppsV1Api), 'the Kubernetes API', policy);
}

const readPachd = (apps: k8s.AppsV1Api) => apps.readNamespacedDeployment({ name: 'pachd', namespace: 'pachyderm' });
const pachdGets = (sim: KubeSimulator) => sim.requests().filter((r) => r.verb === 'get' && r.resource === 'deployments' && r.name === 'pachd').length;

describe('Kubernetes API calls retried by the class of failure', () => {
  it('wait as long as a 429 Retry-After asks, and tell the running step', async () => {
    const sim = await simulator();
    const apps = appsOf(sim);
    await readPachd(apps);
    sim.faults.failures.push({ verb: 'get', resource: 'deployments', code: 429, retryAfterSeconds: 1, times: 2 });
    const notices: RetryNotice[] = [];
    const started = Date.now();
    const pachd = await withRetryNotices((n) => notices.push(n), () => readPachd(apps));
    expect(pachd.metadata?.name).toBe('pachd');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(notices.map((n) => n.type)).toEqual(['retrying', 'retrying', 'recovered']);
    expect(notices[0]).toMatchObject({ service: 'the Kubernetes API', error: 'HTTP 429 on readNamespacedDeployment', waitMs: 1000 });
  });

  it('ride out a burst of 500s and an apiserver that is down for a few seconds', async () => {
    const sim = await simulator();
    const apps = appsOf(sim);
    sim.faults.failures.push({ code: 500, until: Date.now() + 1000 });
    expect((await readPachd(apps)).metadata?.name).toBe('pachd');

    const port = sim.port;
    await sim.close();
    sims = [];
    const restarted = new Promise<void>((resolve) => setTimeout(() => void simulator(port).then(() => resolve()), 2000));
    expect((await readPachd(apps)).metadata?.name).toBe('pachd');
    await restarted;
  });

  it('never retry a refusal (404, 403) and give up when the budget is spent', async () => {
    const sim = await simulator();
    const apps = appsOf(sim, { ...KUBE_RETRY_POLICY, budgetMs: 800 });
    await expect(apps.readNamespacedDeployment({ name: 'nope', namespace: 'pachyderm' })).rejects.toMatchObject({ code: 404 });
    sim.denied.push({ verb: 'get', resource: 'deployments' });
    const before = pachdGets(sim);
    await expect(readPachd(apps)).rejects.toMatchObject({ code: 403 });
    expect(pachdGets(sim) - before).toBe(1);
    sim.denied.length = 0;

    sim.faults.failures.push({ code: 503 });
    const started = Date.now();
    await expect(readPachd(apps)).rejects.toMatchObject({ code: 503 });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stop waiting when the running step is stopped', async () => {
    const sim = await simulator();
    const apps = appsOf(sim);
    sim.faults.failures.push({ code: 503 });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const started = Date.now();
    await expect(withRetryNotices(() => undefined, () => readPachd(apps), stop.signal)).rejects.toMatchObject({ code: 503 });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
