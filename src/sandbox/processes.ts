import { spawn, type StdioOptions } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { PachbackupError } from '../errors.js';

/**
 * Starting and stopping the sandbox's server processes. Every process runs in its own process group,
 * writes to a log file, and is stopped by PID — never by name — so `sandbox down` stops exactly what
 * `sandbox up` started.
 */

/** A port nobody listens on right now, on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves when something accepts TCP connections on host:port. */
export async function waitForPort(port: number, options: { host?: string; timeoutMs?: number; name?: string; isAlive?: () => boolean } = {}): Promise<void> {
  const host = options.host ?? '127.0.0.1';
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (options.isAlive && !options.isAlive()) {
      throw new PachbackupError('unavailable', `${options.name ?? 'process'} exited before listening on ${host}:${port}`);
    }
    if (Date.now() > deadline) throw new PachbackupError('timeout', `${options.name ?? 'process'} did not listen on ${host}:${port} in time`);
    await sleep(50);
  }
}

/** Resolves when `file` contains `text` (a process saying it is ready); fails if the process exits first. */
export async function waitForLogLine(file: string, text: string, isAlive: () => boolean, timeoutMs = 60_000): Promise<void> {
  const { readFileSync, existsSync } = await import('node:fs');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(text)) return;
    if (!isAlive()) throw new PachbackupError('unavailable', `the process logging to ${file} exited before it was ready; see that log`);
    if (Date.now() > deadline) throw new PachbackupError('timeout', `no "${text}" in ${file} in time`);
    await sleep(100);
  }
}

export interface StartedProcess {
  pid: number;
  /** True while the process has not exited. */
  alive(): boolean;
}

/**
 * Starts a long-running process detached from ours (its own process group), its output appended to `logFile`,
 * so it can outlive `sandbox up --detach`.
 */
export function startProcess(command: string, args: string[], options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): StartedProcess {
  const fd = openSync(options.logFile, 'a');
  const stdio: StdioOptions = ['ignore', fd, fd];
  const child = spawn(command, args, { detached: true, stdio, env: options.env ?? process.env, cwd: options.cwd });
  closeSync(fd);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  child.unref();
  if (child.pid === undefined) throw new PachbackupError('unavailable', `could not start ${command}`);
  return { pid: child.pid, alive: () => !exited && isRunning(child.pid!) };
}

/**
 * How to run one of our own entry modules (`main.ts` beside its module) as a process: compiled JavaScript
 * runs under plain node; TypeScript sources (tests, development) run through tsx.
 */
export function nodeEntry(moduleUrl: URL): { command: string; args: string[] } {
  const file = fileURLToPath(moduleUrl);
  if (file.endsWith('.ts')) return { command: process.execPath, args: ['--import', 'tsx', file] };
  return { command: process.execPath, args: [file] };
}

export { isProcessRunning as isRunning } from '../runtime/is-process-running.js';
import { isProcessRunning as isRunning } from '../runtime/is-process-running.js';

/** Sends `signal`, waits for the process to go, and kills it after `timeoutMs`. Resolves once it is gone. */
export async function stopProcess(pid: number, options: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<void> {
  if (!isRunning(pid)) return;
  try {
    process.kill(pid, options.signal ?? 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (isRunning(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await sleep(25);
  }
}
