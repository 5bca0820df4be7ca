/**
 * What the kube-sim tests share: a simulator started in-process on a free port with short pod delays,
 * clients for it (kubectl as a child process, @kubernetes/client-node), and waiting on conditions instead
 * of sleeping.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { KINDS, startKubeSimulator, type KubeSimulator, type KubeSimulatorOptions } from '../../../src/sandbox/kube-sim/index.js';

export const NS = 'pachyderm';

/** Starts a simulator with a 20 ms pod delay (overridable). Close it in afterEach. */
export function startTestSimulator(options: KubeSimulatorOptions = {}): Promise<KubeSimulator> {
  return startKubeSimulator({ podDelayMs: 20, ...options });
}

/** Typed API clients for a simulator, through a kubeconfig string, as the product would build them. */
export function clientsFor(sim: KubeSimulator) {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(sim.kubeconfig(NS));
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    authz: kc.makeApiClient(k8s.AuthorizationV1Api),
  };
}

/** The options that make client-node send an object body as a merge patch (its default is JSON patch). */
export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
export const strategicPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

/** Polls `check` until it returns something other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== undefined && result !== false) return result;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** The result of one kubectl run. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A kubectl left running (e.g. `get -w`), whose output is read as it comes. */
export interface StreamingKubectl {
  output(): string;
  waitForOutput(pattern: RegExp): Promise<string>;
  stop(): void;
}

/** A kubectl bound to one simulator, with its own discovery cache directory. */
export function kubectlFor(sim: KubeSimulator): {
  run: (...args: string[]) => Promise<KubectlResult>;
  spawn: (...args: string[]) => StreamingKubectl;
  cleanup: () => void;
} {
  const cacheDir = mkdtempSync(join(tmpdir(), 'kube-sim-kubectl-'));
  const env = { ...process.env, KUBECONFIG: '/dev/null', HOME: cacheDir };
  const argv = (args: string[]): string[] => [`--server=${sim.url}`, '-n', NS, `--cache-dir=${cacheDir}`, ...args];
  const spawnKubectl = (...args: string[]): StreamingKubectl => {
    const child = spawn('/usr/bin/kubectl', argv(args), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    return {
      output: () => output,
      waitForOutput: (pattern) => waitFor(`kubectl ${args.join(' ')} to print ${String(pattern)} (got: ${output})`, () => pattern.test(output)).then(() => output),
      stop: () => {
        if (child.exitCode === null) child.kill('SIGTERM');
      },
    };
  };
  const run = (...args: string[]): Promise<KubectlResult> =>
    new Promise((resolve) => {
      execFile(
        '/usr/bin/kubectl',
        argv(args),
        { env, timeout: 30_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
    });
  return { run, spawn: spawnKubectl, cleanup: () => rmSync(cacheDir, { recursive: true, force: true }) };
}

/** Names of the pods in the namespace whose labels satisfy `match` (terminating ones included). */
export function podNames(sim: KubeSimulator, match: (labels: Record<string, string>) => boolean): string[] {
  return sim.store
    .list(KINDS.pod, NS)
    .filter((p) => match(p.metadata.labels ?? {}))
    .map((p) => p.metadata.name ?? '');
}
