import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, nodeEntry, startProcess } from '../processes.js';

/** s3rver's fixed credentials: it accepts no others. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface SandboxS3 {
  endpoint: string;
  port: number;
  pid: number;
  region: string;
}

/**
 * Starts s3rver as its own process, storing objects under `directory`, with `buckets` created. `onSpawn` hears its
 * PID as soon as it exists — before it listens — so a caller can stop it whatever happens next.
 */
export async function startS3(options: { directory: string; buckets: string[]; logFile: string; port?: number; env?: NodeJS.ProcessEnv; onSpawn?: (pid: number) => void }): Promise<SandboxS3> {
  mkdirSync(options.directory, { recursive: true });
  const port = options.port ?? (await freePort());
  const entry = nodeEntry(new URL(import.meta.url.endsWith('.ts') ? './s3-main.ts' : './s3-main.js', import.meta.url));
  const proc = startProcess(
    entry.command,
    ['--openssl-legacy-provider', ...entry.args, '--port', String(port), '--directory', options.directory, ...options.buckets.flatMap((b) => ['--bucket', b])],
    { logFile: options.logFile, ...(options.env ? { env: options.env } : {}) },
  );
  options.onSpawn?.(proc.pid);
  await proc.ready('s3rver listening on', { name: 's3rver' });
  return { endpoint: `http://127.0.0.1:${port}`, port, pid: proc.pid, region: 'us-east-1' };
}

export function s3DataDir(root: string): string {
  return join(root, 's3');
}
