import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REUSE_MS } from '../../src/status/cluster-reads.js';
import { ALICE, DAVE, OPS, createSlackFixture, type SlackFixture } from '../support/slack-fixture.js';

/**
 * Many people asking the same question at once: every command is acknowledged, every one answered, and the
 * cluster is asked once — the app probes Kubernetes, PostgreSQL and the stores once per cluster, not once per
 * person.
 */
describe('concurrent read commands', () => {
  let f: SlackFixture;
  beforeAll(async () => {
    f = await createSlackFixture({ worker: false });
  });
  afterAll(async () => f?.cleanup());

  /** Sends `count` `/pachbackup <text>` at once; resolves with the answers and the Kubernetes requests they cost. */
  async function burst(text: string, count: number) {
    await sleep(DEFAULT_REUSE_MS + 100); // nothing reused from before
    const seen = new Set(f.sim.snapshot().ephemerals.map((e) => e.id));
    f.kube.clearRequests();
    const users = [ALICE, DAVE];
    const acks = await Promise.all(Array.from({ length: count }, (_, i) => f.sim.driver.slashCommand({ userId: users[i % 2]!, channelId: OPS, text })));
    const answers = await f.sim.waitFor((s) => {
      const fresh = s.ephemerals.filter((e) => !seen.has(e.id));
      return fresh.length >= count ? fresh : undefined;
    }, { timeoutMs: 60_000, description: `${count} answers to /pachbackup ${text}` });
    return { acks, answers, kubeRequests: f.kube.requests().length };
  }

  it('answers 20 estimates at once from one probe of the cluster', async () => {
    const alone = await burst('estimate test', 1);
    const many = await burst('estimate test', 20);
    expect(many.acks.every((a) => a.status === 200)).toBe(true);
    expect(many.answers).toHaveLength(20);
    for (const answer of many.answers) expect(answer.text).toMatch(/would pause it for about/);
    expect(alone.kubeRequests).toBeGreaterThan(0);
    expect(many.kubeRequests).toBe(alone.kubeRequests);
  });

  it('answers 20 status requests at once from one read of the cluster', async () => {
    const alone = await burst('status', 1);
    const many = await burst('status', 20);
    expect(many.answers).toHaveLength(20);
    for (const answer of many.answers) expect(answer.text).toMatch(/^test: /);
    expect(many.kubeRequests).toBe(alone.kubeRequests);
  });

  it('answers 20 lists at once', async () => {
    const many = await burst('list test', 20);
    expect(many.answers).toHaveLength(20);
    for (const answer of many.answers) expect(answer.text).toMatch(/No backups of test yet/);
  });

  it("says pachd's Deployment is missing, not that the cluster is unreachable, when Kubernetes answers without it", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(f.cluster.kubernetes.kubeconfig!);
    await kc.makeApiClient(k8s.AppsV1Api).deleteNamespacedDeployment({ name: f.cluster.pachyderm.deployment, namespace: f.cluster.kubernetes.namespace });
    await sleep(DEFAULT_REUSE_MS + 100);
    const { reply } = await f.command(ALICE, 'status test');
    expect(reply.text).toBe('test: deployment missing');
    const shown = JSON.stringify(reply.blocks);
    expect(shown).toContain('❓ Deployment missing');
    expect(shown).toContain(`Deployment ${f.cluster.pachyderm.deployment} not found in namespace ${f.cluster.kubernetes.namespace}`);
    expect(shown).not.toMatch(/unreachable/i);
  });
});
