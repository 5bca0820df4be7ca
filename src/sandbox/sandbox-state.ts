import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PachbackupError } from '../errors.js';

/**
 * `.sandbox/sandbox.json`: every endpoint, credential and process of a running sandbox, so people and tests can
 * reach each service directly and `sandbox down` stops exactly what `sandbox up` started.
 */
export interface SandboxState {
  /** Path of the generated pachbackup config file. */
  config: string;
  /** Name of the sandbox cluster in that config. */
  cluster: string;
  size: 'small' | 'bench';
  startedAt: string;
  dir: string;
  /** `dataDir`: the cluster's folder — inside `dir`, or (as root) a directory of its own that the postgres user owns; `sandbox down` removes it. */
  postgres: { url: string; port: number; caFile: string; dataDir: string; databases: string[]; stateDatabaseUrl: string; stateDatabasePassword: string };
  redis: { url: string; password: string };
  s3: {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    clusterBucket: string;
    backupBucket: string;
    backupPrefix: string;
    objects: number;
    bytes: number;
  };
  kubernetes: { server: string; namespace: string; kubeconfig: string };
  /** Prometheus endpoints of the bot's processes (also /healthz and /readyz). */
  metrics: { app: string; worker: string };
  slack: {
    apiUrl: string;
    messagesUrl: string;
    /** Socket Mode (the app connects to the simulator) or HTTP (the simulator posts to `eventsUrl`). */
    mode: 'socket' | 'http';
    /** Where the app receives Slack's requests, in HTTP mode. */
    eventsUrl?: string;
    signingSecret: string;
    botToken: string;
    opsChannel: string;
    announceChannel: string;
    operators: string[];
    approvers: string[];
  };
  /** Every process the sandbox started, by name. */
  pids: Record<string, number>;
}

export const DEFAULT_SANDBOX_DIR = '.sandbox';

export function sandboxStatePath(dir: string): string {
  return join(resolve(dir), 'sandbox.json');
}

export function readSandboxState(dir: string): SandboxState | undefined {
  const path = sandboxStatePath(dir);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SandboxState;
  } catch (err) {
    throw new PachbackupError('integrity', `${path} is not valid JSON`, { hint: 'remove it after stopping its processes', cause: err });
  }
}

export function writeSandboxState(dir: string, state: SandboxState): void {
  writeFileSync(sandboxStatePath(dir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
