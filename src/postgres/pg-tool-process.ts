import { spawn, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { PachbackupError } from '../errors.js';

/** How a PostgreSQL client tool ended: an exit code, a signal, or a failure to start at all. */
export interface PgToolExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started (not found, not executable). */
  spawnError?: Error;
}

/**
 * A running pg_dump / pg_restore / psql. `exited` always resolves (never rejects); stderr is kept only in its
 * last `STDERR_LIMIT` bytes so a chatty tool cannot grow memory without bound.
 */
export interface PgToolProcess {
  child: ChildProcess;
  exited: Promise<PgToolExit>;
  /** The kept end of stderr, as text. */
  stderr(): string;
  /** SIGTERM now, SIGKILL if still running after a grace period. Safe to call more than once. */
  stop(): void;
}

/** Bytes of stderr kept per process. */
export const STDERR_LIMIT = 32 * 1024;

const KILL_GRACE_MS = 5_000;

/**
 * Starts a PostgreSQL client tool with `env` (see `libpqEnvironment`). stdin and stdout are pipes only when
 * asked for. When `signal` aborts, the process is stopped; the caller decides what to throw.
 */
export function startPgTool(
  path: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore'; stdout?: 'pipe' | 'ignore'; signal?: AbortSignal },
): PgToolProcess {
  const child = spawn(path, args, { env: options.env, stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', 'pipe'] });
  let kept = Buffer.alloc(0);
  child.stderr?.on('data', (chunk: Buffer) => {
    kept = Buffer.concat([kept, chunk]);
    if (kept.length > STDERR_LIMIT) kept = kept.subarray(kept.length - STDERR_LIMIT);
  });
  let running = true;
  let killTimer: NodeJS.Timeout | undefined;
  const exited = new Promise<PgToolExit>((resolve) => {
    child.once('error', (err) => {
      running = false;
      resolve({ code: null, signal: null, spawnError: err });
    });
    // 'close' (not 'exit'): stdio is drained, so stderr() is complete when this resolves.
    child.once('close', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  }).finally(() => {
    if (killTimer) clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', stop);
  });
  function stop(): void {
    if (!running || killTimer) return;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      if (running) child.kill('SIGKILL');
    }, KILL_GRACE_MS);
    killTimer.unref();
  }
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();
  return { child, exited, stderr: () => kept.toString('utf8'), stop };
}

/**
 * The lines of a tool's stderr that say what went wrong — `error:` lines and the server's messages in
 * `detail:` lines, without the echoed command — joined into one line; the last line when there are none.
 */
export function summarizeStderr(stderr: string, maxLength = 600): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.replace(/^(pg_dump|pg_restore|psql|pg_dumpall):\s*/, '').trim())
    .filter((line) => line.length > 0);
  const telling = lines.filter((line) => /^(error|fatal|detail):/i.test(line) && !/^detail:\s*Command was:/i.test(line));
  const chosen = telling.length > 0 ? telling.join(' — ') : (lines.at(-1) ?? '');
  return chosen.length > maxLength ? `${chosen.slice(0, maxLength - 1)}…` : chosen;
}

/** One phrase for how a tool ended badly: "exited with code 1: <stderr summary>", "was killed by SIGKILL". */
export function describeExit(path: string, exit: PgToolExit, stderr: string): string {
  const tool = basename(path);
  const said = summarizeStderr(stderr);
  if (exit.spawnError) return `${tool} could not be started (${exit.spawnError.message})`;
  if (exit.signal) return `${tool} was killed by ${exit.signal}${said ? `: ${said}` : ''}`;
  return `${tool} exited with code ${exit.code}${said ? `: ${said}` : ''}`;
}

/** A tool that could not be started at all, as PachbackupError 'dependency-missing'. */
export function spawnFailure(path: string, exit: PgToolExit): PachbackupError {
  return new PachbackupError('dependency-missing', `${basename(path)} could not be started from ${path}: ${exit.spawnError?.message ?? 'unknown error'}`, {
    hint: 'install the PostgreSQL client tools (apt-get install -y postgresql-client) or set the tool path explicitly',
    cause: exit.spawnError,
  });
}

/** Runs a tool to completion, collecting stdout (up to `maxStdout` bytes) and the end of stderr. */
export async function runPgTool(
  path: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; signal?: AbortSignal; maxStdout?: number },
): Promise<{ exit: PgToolExit; stdout: string; stderr: string }> {
  const proc = startPgTool(path, args, { env: options.env, ...(options.signal ? { signal: options.signal } : {}) });
  const chunks: Buffer[] = [];
  let size = 0;
  const max = options.maxStdout ?? 16 * 1024 * 1024;
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    if (size < max) chunks.push(chunk);
    size += chunk.length;
  });
  const exit = await proc.exited;
  return { exit, stdout: Buffer.concat(chunks).toString('utf8'), stderr: proc.stderr() };
}
