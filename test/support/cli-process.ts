import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A `pachbackup` process a test started from the built CLI (`npm run build` first), as Kubernetes runs it. */
export interface CliProcess {
  child: ChildProcess;
  pid: number;
  /** Every line it printed (stdout and stderr), oldest first. */
  lines: string[];
  /** Resolves with the first line (already printed or to come) matching `pattern`; rejects if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when it has exited: its exit code (null when killed by a signal), the signal, and when (Date.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** SIGKILL unless it has exited already. */
  kill(): void;
}

const started = new Set<CliProcess>();

/** Kills every process `startCli` started that is still running: call it in afterEach, so none outlives its test. */
export function killStartedClis(): void {
  for (const p of started) p.kill();
  started.clear();
}

/** Starts `pachbackup <args>` with the environment the sandbox gives its processes (loopback, a free metrics port). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, ['bin/pachbackup.js', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info', PACHBACKUP_METRICS_PORT: '0', PACHBACKUP_LISTEN_HOST: '127.0.0.1', ...env },
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      for (const wake of waiters) wake();
    });
  }
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      for (const wake of waiters) wake();
      resolve({ code, signal, at: Date.now() });
    }),
  );
  const proc: CliProcess = {
    child,
    pid: child.pid!,
    lines,
    exited,
    waitForLine: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${lines.slice(-10).join('\n')}`));
        }, timeoutMs);
        const check = () => {
          const line = lines.find((l) => pattern.test(l));
          if (line !== undefined || done) {
            clearTimeout(timer);
            waiters.delete(check);
            if (line !== undefined) resolve(line);
            else reject(new Error(`the process exited before printing a line matching ${pattern}; last lines:\n${lines.slice(-10).join('\n')}`));
          }
        };
        waiters.add(check);
        check();
      }),
    kill: () => {
      if (!done) child.kill('SIGKILL');
    },
  };
  started.add(proc);
  return proc;
}
