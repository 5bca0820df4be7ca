/**
 * Runs the Kubernetes API simulator as its own process, for the sandbox:
 *
 *   node --import tsx src/sandbox/kube-sim/main.ts --port 6443 --namespace pachyderm --helm-values values.yaml
 *
 * Flags: `--port N` (default 0 = any), `--host H` (default 127.0.0.1), `--namespace NS` (default pachyderm),
 * `--release NAME` (Helm release, default pachyderm), `--pod-delay-ms N` (default 300), `--helm-values FILE`
 * (YAML or JSON: the release's user-supplied values), `--postgres-password P` (stored in the Secret the values
 * name), `--state-dir DIR` (writes DIR/kubeconfig; loads DIR/kube-sim-state.json at start if present and saves
 * it at exit), `--no-seed` (empty cluster). Prints exactly one line to stdout once listening:
 * `kube-sim listening on http://HOST:PORT`; logs (pino JSON, LOG_LEVEL, default warn) go to stderr.
 * SIGTERM/SIGINT close it cleanly (exit code 0).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { createLogger } from '../../log.js';
import { isJsonObject } from './kube-object.js';
import { startKubeSimulator } from './simulator.js';
import type { StoreSnapshot } from './store.js';

const STATE_FILE = 'kube-sim-state.json';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      namespace: { type: 'string', default: 'pachyderm' },
      release: { type: 'string', default: 'pachyderm' },
      'pod-delay-ms': { type: 'string', default: '300' },
      'helm-values': { type: 'string' },
      'postgres-password': { type: 'string' },
      'state-dir': { type: 'string' },
      'no-seed': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  const podDelayMs = Number(values['pod-delay-ms']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  if (!Number.isFinite(podDelayMs) || podDelayMs < 0) throw new Error(`--pod-delay-ms must be a number >= 0, got ${values['pod-delay-ms']}`);

  let helmValues: Record<string, unknown> | undefined;
  if (values['helm-values']) {
    const parsed: unknown = parseYaml(await readFile(values['helm-values'], 'utf8'));
    if (!isJsonObject(parsed)) throw new Error(`--helm-values ${values['helm-values']} must hold a YAML or JSON mapping`);
    helmValues = parsed;
  }

  const stateDir = values['state-dir'];
  let snapshot: StoreSnapshot | undefined;
  if (stateDir) {
    await mkdir(stateDir, { recursive: true });
    const statePath = join(stateDir, STATE_FILE);
    if (existsSync(statePath)) snapshot = JSON.parse(await readFile(statePath, 'utf8')) as StoreSnapshot;
  }

  const logger = createLogger({ name: 'kube-sim', level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
  const sim = await startKubeSimulator({
    host: values.host,
    port,
    podDelayMs,
    logger,
    ...(snapshot
      ? { snapshot }
      : {
          seed: values['no-seed']
            ? false
            : {
                namespace: values.namespace,
                releaseName: values.release,
                ...(helmValues ? { helmValues } : {}),
                ...(values['postgres-password'] ? { postgresPassword: values['postgres-password'] } : {}),
              },
        }),
  });
  if (stateDir) await writeFile(join(stateDir, 'kubeconfig'), sim.kubeconfig(values.namespace), { mode: 0o600 });
  process.stdout.write(`kube-sim listening on ${sim.url}\n`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'kube-sim stopping');
    await sim.close();
    if (stateDir) {
      const tmp = join(stateDir, `${STATE_FILE}.tmp`);
      await writeFile(tmp, JSON.stringify(sim.store.snapshot()));
      await rename(tmp, join(stateDir, STATE_FILE));
    }
    process.exitCode = 0;
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`kube-sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
