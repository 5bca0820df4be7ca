import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PachbackupError } from '../../errors.js';
import { freePort, startProcess } from '../processes.js';

export interface SandboxRedis {
  url: string;
  port: number;
  pid: number;
}

function redisServerPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new PachbackupError('dependency-missing', 'redis-server is not installed', { hint: 'apt-get install -y redis-server' });
  }
}

/**
 * Debian's redis-server on a loopback port, in memory only (no RDB, no AOF). With `password`, clients must AUTH
 * (`requirepass`, written to a config file readable only by this user rather than onto the command line).
 * `onSpawn` hears its PID as soon as it exists — before it listens — so a caller can stop it whatever happens next.
 */
export async function startRedis(options: { directory: string; logFile: string; port?: number; password?: string; env?: NodeJS.ProcessEnv; onSpawn?: (pid: number) => void }): Promise<SandboxRedis> {
  const port = options.port ?? (await freePort());
  const configFile = join(options.directory, 'redis.conf');
  writeFileSync(configFile, options.password ? `requirepass "${options.password}"\n` : '', { mode: 0o600 });
  const proc = startProcess(
    redisServerPath(),
    [configFile, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', options.directory, '--protected-mode', 'yes'],
    { logFile: options.logFile, ...(options.env ? { env: options.env } : {}) },
  );
  options.onSpawn?.(proc.pid);
  await proc.ready('Ready to accept connections', { name: 'redis-server' });
  return { url: `redis://127.0.0.1:${port}`, port, pid: proc.pid };
}
