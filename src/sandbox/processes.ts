import { spawn, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

/**
 * Resolves when `file` contains `text` after byte `from` (a process saying it is ready: with a port handed out
 * ahead, "something answers on the port" can be another program); fails when the process exits first, with the
 * last lines it logged.
 */
export async function waitForLogLine(file: string, text: string, options: { isAlive: () => boolean; from?: number; timeoutMs?: number; name?: string }): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  const name = options.name ?? 'the process';
  const logged = () => (existsSync(file) ? readFileSync(file).subarray(options.from ?? 0).toString('utf8') : '');
  const tail = () => {
    const lines = logged().trim().split('\n').filter(Boolean).slice(-3);
    return lines.length ? `; its log ${file} ends:\n${lines.map((l) => `  ${l}`).join('\n')}` : `; see ${file}`;
  };
  for (;;) {
    if (logged().includes(text)) return;
    if (!options.isAlive()) {
      if (logged().includes(text)) return;
      throw new PachbackupError('unavailable', `${name} exited before it was ready${tail()}`);
    }
    if (Date.now() > deadline) throw new PachbackupError('timeout', `${name} did not say "${text}" within ${timeoutMs} ms${tail()}`);
    await sleep(50);
  }
}

export interface StartedProcess {
  pid: number;
  /** True while the process has not exited. */
  alive(): boolean;
  /** Resolves when the process logs `text` (see `waitForLogLine`). */
  ready(text: string, options?: { timeoutMs?: number; name?: string }): Promise<void>;
}

/**
 * Starts a long-running process detached from ours (its own process group), its output appended to `logFile`,
 * so it can outlive `sandbox up --detach`.
 */
export function startProcess(command: string, args: string[], options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): StartedProcess {
  const fd = openSync(options.logFile, 'a');
  const from = fstatSync(fd).size;
  const stdio: StdioOptions = ['ignore', fd, fd];
  const child = spawn(command, args, { detached: true, stdio, env: options.env ?? process.env, cwd: options.cwd });
  closeSync(fd);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  child.unref();
  if (child.pid === undefined) throw new PachbackupError('unavailable', `could not start ${command}`);
  const alive = () => !exited && isRunning(child.pid!);
  return { pid: child.pid, alive, ready: (text, o = {}) => waitForLogLine(options.logFile, text, { isAlive: alive, from, ...o }) };
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
