import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeHelmRelease } from '../../../src/helm/release-secret.js';
import { waitFor } from './kube-sim-harness.js';

function startMain(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox/kube-sim/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('kube-sim as a standalone process', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-main-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the Helm values it was given, writes a kubeconfig, and exits cleanly on SIGTERM keeping its state', async () => {
    const valuesFile = join(dir, 'values.yaml');
    writeFileSync(valuesFile, 'global:\n  postgresql:\n    postgresqlHost: pg.sandbox\n    postgresqlExistingSecretName: pg-secret\npachd:\n  storage:\n    storageURL: s3://sandbox-bucket?endpoint=127.0.0.1:4568&disableSSL=true&region=us-east-1\n');
    const stateDir = join(dir, 'state');
    const proc = startMain(['--port', '0', '--namespace', 'pachyderm', '--pod-delay-ms', '0', '--helm-values', valuesFile, '--state-dir', stateDir, '--postgres-password', 's3cret']);
    try {
      const line = await waitFor(`the listening line (stderr: ${proc.stderr()})`, () => /kube-sim listening on (http:\/\/\S+)\n/.exec(proc.stdout())?.[1]);
      expect(proc.stdout()).toBe(`kube-sim listening on ${line}\n`);

      const kc = new k8s.KubeConfig();
      kc.loadFromFile(join(stateDir, 'kubeconfig'));
      expect(kc.getCurrentCluster()?.server).toBe(line);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const secret = await core.readNamespacedSecret({ name: 'sh.helm.release.v1.pachyderm.v2', namespace: 'pachyderm' });
      const release = decodeHelmRelease(secret.data?.release ?? '');
      expect(release.config).toMatchObject({ pachd: { storage: { storageURL: 's3://sandbox-bucket?endpoint=127.0.0.1:4568&disableSSL=true&region=us-east-1' } } });
      const pg = await core.readNamespacedSecret({ name: 'pg-secret', namespace: 'pachyderm' });
      expect(Buffer.from(pg.data?.['postgresql-password'] ?? '', 'base64').toString()).toBe('s3cret');
      await core.patchNamespacedConfigMap(
        { name: 'pachd-config', namespace: 'pachyderm', body: { data: { MODE: 'paused' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
    const state = JSON.parse(readFileSync(join(stateDir, 'kube-sim-state.json'), 'utf8')) as { objects: Array<{ kind: string; metadata: { name: string }; data?: Record<string, string> }> };
    expect(state.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'pachd-config')?.data).toEqual({ MODE: 'paused' });

    // Started again on the same state directory, it carries on where it stopped.
    const again = startMain(['--port', '0', '--state-dir', stateDir]);
    try {
      const url = await waitFor('the listening line', () => /kube-sim listening on (http:\/\/\S+)\n/.exec(again.stdout())?.[1]);
      const res = await fetch(`${url}/api/v1/namespaces/pachyderm/configmaps/pachd-config`);
      expect(((await res.json()) as { data: Record<string, string> }).data).toEqual({ MODE: 'paused' });
    } finally {
      again.child.kill('SIGINT');
    }
    expect(await again.exited).toBe(0);
  });

  it('refuses a bad flag with a message and exit code 1', async () => {
    const proc = startMain(['--port', 'not-a-port']);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain('--port must be 0..65535');
  });
});
