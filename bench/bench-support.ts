import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { formatBytes } from '../src/format-units.js';
import { createLogger, type Logger } from '../src/log.js';
import { sandboxDown } from '../src/sandbox/sandbox-down.js';
import type { SandboxState } from '../src/sandbox/sandbox-state.js';
import { sandboxUp } from '../src/sandbox/sandbox-up.js';

/** What the benchmarks share: timing, figures, the sandbox they run on and rclone (the manual runbook's tool). */

export const run = promisify(execFile);
export const benchSize = process.env.PACHBACKUP_BENCH_SIZE === 'small' ? 'small' : 'bench';
export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const rate = (bytes: number, ms: number) => (ms > 0 ? `${formatBytes((bytes / ms) * 1000)}/s` : '-');

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

/** Runs `body` on a fresh sandbox of `benchSize` (pod start/stop delay 500 ms), always taken down after. */
export async function withBenchSandbox(name: string, body: (state: SandboxState, context: { dir: string; logger: Logger }) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `pachbackup-${name}-`));
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  console.log(`Starting the ${benchSize} sandbox in ${dir} ...`);
  const state = await sandboxUp({ dir, size: benchSize, logger, podDelayMs: 500 });
  try {
    await body(state, { dir, logger });
  } finally {
    await sandboxDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `rclone <args>` against the sandbox's S3 server as remote `s3a:`, timed; NaN ms when rclone failed. */
export async function rclone(state: SandboxState, args: string[]): Promise<{ ms: number; error?: Error }> {
  const env = {
    ...process.env,
    RCLONE_CONFIG_S3A_TYPE: 's3',
    RCLONE_CONFIG_S3A_PROVIDER: 'Other',
    RCLONE_CONFIG_S3A_ENDPOINT: state.s3.endpoint,
    RCLONE_CONFIG_S3A_ACCESS_KEY_ID: state.s3.accessKeyId,
    RCLONE_CONFIG_S3A_SECRET_ACCESS_KEY: state.s3.secretAccessKey,
    RCLONE_CONFIG_S3A_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_S3A_REGION: 'us-east-1',
  } as NodeJS.ProcessEnv;
  delete env.AWS_CA_BUNDLE;
  return timed(() => run('rclone', ['--config', '/dev/null', ...args, '--transfers', '16', '--checkers', '16'], { env, maxBuffer: 1 << 24 })).then(
    ({ ms }) => ({ ms }),
    (error: Error) => ({ ms: NaN, error }),
  );
}

/** The Node options deploy/base/worker.yaml gives a worker (its heap cap): the bench's workers run as deployed. */
export const deployedNodeOptions = (() => {
  type Deployment = { kind: string; spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } };
  const documents = parseAllDocuments(readFileSync(new URL('../deploy/base/worker.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as Deployment);
  const value = documents.find((d) => d.kind === 'Deployment')?.spec.template.spec.containers[0]!.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
  if (!value) throw new Error('deploy/base/worker.yaml gives the worker no NODE_OPTIONS');
  return value;
})();
