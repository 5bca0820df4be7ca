import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KINDS, type KubeSimulator } from '../../../src/sandbox/kube-sim/index.js';
import { NS, kubectlFor, podNames, startTestSimulator, waitFor } from './kube-sim-harness.js';

describe('kubectl against the simulator', () => {
  let sim: KubeSimulator;
  let kubectl: ReturnType<typeof kubectlFor>;

  beforeEach(async () => {
    sim = await startTestSimulator();
    kubectl = kubectlFor(sim);
  });

  afterEach(async () => {
    kubectl.cleanup();
    await sim.close();
  });

  it('lists the Pachyderm deployments as JSON and as a table', async () => {
    const json = await kubectl.run('get', 'deploy', '-o', 'json');
    expect(json.code, json.stderr).toBe(0);
    const list = JSON.parse(json.stdout) as { items: Array<{ metadata: { name: string }; spec: { replicas: number } }> };
    const pachd = list.items.find((d) => d.metadata.name === 'pachd');
    expect(pachd?.spec.replicas).toBe(1);
    expect(list.items.map((d) => d.metadata.name)).toEqual(expect.arrayContaining(['pachd', 'pachw', 'pg-bouncer', 'console', 'pachyderm-proxy', 'ingest-gateway']));

    const table = await kubectl.run('get', 'deploy');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    expect(table.stdout).toMatch(/\npachd\s+1\/1\s+1\s+1\s+/);
  });

  it('selects pods by label and shows them Running', async () => {
    const result = await kubectl.run('get', 'pods', '-l', 'app=pachd');
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^pachd-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running/);
  });

  it('scales pachd to zero and its pod goes away', async () => {
    const before = podNames(sim, (l) => l.app === 'pachd');
    expect(before).toHaveLength(1);
    const result = await kubectl.run('scale', 'deploy', 'pachd', '--replicas=0');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('deployment.apps/pachd scaled');
    await waitFor('pachd pods to be gone', () => podNames(sim, (l) => l.app === 'pachd').length === 0);
    const rc = await kubectl.run('get', 'deploy', 'pachd', '-o', 'jsonpath={.spec.replicas}/{.status.replicas}');
    expect(rc.stdout).toBe('0/');
  });

  it('scales every worker RC by label selector, as Pachyderm documents', async () => {
    const result = await kubectl.run('scale', 'rc', '--replicas', '0', '-l', 'suite=pachyderm,component=worker');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').sort()).toEqual([
      'replicationcontroller/default-edges-v1 scaled',
      'replicationcontroller/default-montage-v1 scaled',
      'replicationcontroller/images-resize-v3 scaled',
    ]);
    await waitFor('worker pods to be gone', () => podNames(sim, (l) => l.component === 'worker').length === 0);
    const table = await kubectl.run('get', 'rc');
    expect(table.stdout).toMatch(/images-resize-v3\s+0\s+0\s+0\s/);
  });

  it('patches with the strategic (default), merge and json patch types', async () => {
    const strategic = await kubectl.run('patch', 'deploy', 'pachd', '-p', '{"spec":{"template":{"metadata":{"annotations":{"x":"y"}}}}}');
    expect(strategic.code, strategic.stderr).toBe(0);
    const merge = await kubectl.run('patch', 'deploy', 'pachd', '--type=merge', '-p', '{"metadata":{"labels":{"patched-by":"merge"}}}');
    expect(merge.code, merge.stderr).toBe(0);
    const json = await kubectl.run('patch', 'deploy', 'pachd', '--type=json', '-p', '[{"op":"add","path":"/metadata/annotations/patched-by","value":"json"}]');
    expect(json.code, json.stderr).toBe(0);

    const deploy = sim.store.mustGet(KINDS.deployment, NS, 'pachd');
    const template = (deploy.spec as { template: { metadata: { annotations: Record<string, string>; labels: Record<string, string> } } }).template;
    expect(template.metadata.annotations.x).toBe('y');
    expect(template.metadata.labels).toEqual({ app: 'pachd', suite: 'pachyderm' });
    expect(deploy.metadata.labels?.['patched-by']).toBe('merge');
    expect(deploy.metadata.labels?.app).toBe('pachd');
    expect(deploy.metadata.annotations?.['patched-by']).toBe('json');

    // The template change rolls pachd: its pod is replaced by one carrying the new annotation.
    await waitFor('a Ready pachd pod with the new template', () =>
      sim.store
        .list(KINDS.pod, NS)
        .some((p) => p.metadata.labels?.app === 'pachd' && p.metadata.annotations?.x === 'y' && !p.metadata.deletionTimestamp && (p.status as { phase?: string }).phase === 'Running'),
    );

    const failing = await kubectl.run('patch', 'deploy', 'pachd', '--type=json', '-p', '[{"op":"remove","path":"/metadata/annotations/missing"}]');
    expect(failing.code).not.toBe(0);
    expect(failing.stderr).toContain('The request is invalid');
  });

  it('prints the pachd-config ConfigMap as YAML', async () => {
    const result = await kubectl.run('get', 'cm', 'pachd-config', '-o', 'yaml');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/data:\n {2}MODE: full\n/);
    expect(result.stdout).toContain('kind: ConfigMap');
  });

  it('finds the Helm release secrets by label', async () => {
    const result = await kubectl.run('get', 'secret', '-l', 'owner=helm');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/sh\.helm\.release\.v1\.pachyderm\.v1\s+helm\.sh\/release\.v1\s+1/);
    expect(result.stdout).toMatch(/sh\.helm\.release\.v1\.pachyderm\.v2\s+helm\.sh\/release\.v1\s+1/);
    const deployed = await kubectl.run('get', 'secret', '-l', 'owner=helm,name=pachyderm,status=deployed', '-o', 'name');
    expect(deployed.stdout.trim()).toBe('secret/sh.helm.release.v1.pachyderm.v2');
  });

  it('waits on a rollout restart until the new pod is ready', async () => {
    const restart = await kubectl.run('rollout', 'restart', 'deploy', 'pachd');
    expect(restart.code, restart.stderr).toBe(0);
    const status = await kubectl.run('rollout', 'status', 'deploy', 'pachd', '--timeout=30s');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('successfully rolled out');
  });

  it('creates objects kubectl encodes as protobuf, and answers auth can-i', async () => {
    const create = await kubectl.run('create', 'configmap', 'made-by-kubectl', '--from-literal=greeting=hello');
    expect(create.code, create.stderr).toBe(0);
    expect(sim.store.mustGet(KINDS.configMap, NS, 'made-by-kubectl').data).toEqual({ greeting: 'hello' });

    const yes = await kubectl.run('auth', 'can-i', 'patch', 'deployments', '--subresource=scale');
    expect(yes.stdout.trim()).toBe('yes');
    sim.denied.push({ verb: 'patch', resource: 'deployments', subresource: 'scale' });
    const no = await kubectl.run('auth', 'can-i', 'patch', 'deployments', '--subresource=scale');
    expect(no.stdout.trim()).toBe('no');
    const refused = await kubectl.run('scale', 'deploy', 'pachd', '--replicas=0');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('forbidden');
  });

  it('streams pod changes to kubectl get -w', async () => {
    const watch = kubectl.spawn('get', 'pods', '-l', 'app=pachd', '-w');
    try {
      await watch.waitForOutput(/pachd-\S+\s+1\/1\s+Running/);
      const scaled = await kubectl.run('scale', 'deploy', 'pachd', '--replicas=0');
      expect(scaled.code, scaled.stderr).toBe(0);
      await watch.waitForOutput(/pachd-\S+\s+\S+\s+Terminating/);
    } finally {
      watch.stop();
    }
  });
});
