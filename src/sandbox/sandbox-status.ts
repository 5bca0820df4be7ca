import { connect } from 'node:net';
import { resolve } from 'node:path';
import { isRunning } from './processes.js';
import { readSandboxState, type SandboxState } from './sandbox-state.js';

/** One process of the sandbox: is it running, and does its port answer. */
export interface ServiceStatus {
  name: string;
  pid: number;
  running: boolean;
  endpoint: string;
  listening: boolean;
}

/** Where each named process of the sandbox is reached. */
export function serviceEndpoints(state: SandboxState): Record<string, string> {
  return {
    postgres: `127.0.0.1:${state.postgres.port}`,
    redis: new URL(state.redis.url).host,
    s3: new URL(state.s3.endpoint).host,
    kubernetes: new URL(state.kubernetes.server).host,
    slack: new URL(state.slack.apiUrl).host,
    app: new URL(state.slack.eventsUrl ?? state.metrics.app).host,
    worker: new URL(state.metrics.worker).host,
  };
}

function answers(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((done) => {
    const socket = connect({ host: host!, port: Number(port) });
    socket.setTimeout(1000, () => (socket.destroy(), done(false)));
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

/** The state of every process named in `sandbox.json`, or undefined when no sandbox was started from `dir`. */
export async function sandboxStatus(dir: string): Promise<{ state: SandboxState; services: ServiceStatus[] } | undefined> {
  const state = readSandboxState(resolve(dir));
  if (!state) return undefined;
  const endpoints = serviceEndpoints(state);
  const services = await Promise.all(
    Object.entries(state.pids).map(async ([name, pid]) => {
      const endpoint = endpoints[name] ?? '';
      const running = isRunning(pid);
      // A process without a port (the worker) counts as listening while it runs.
      return { name, pid, running, endpoint, listening: endpoint ? await answers(endpoint) : running };
    }),
  );
  return { state, services };
}
