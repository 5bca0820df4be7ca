import { execFileSync } from 'node:child_process';
import { PachbackupError } from '../../errors.js';
import { freePort, startProcess, waitForPort } from '../processes.js';

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

/** Debian's redis-server on a loopback port, in memory only (no RDB, no AOF). */
export async function startRedis(options: { directory: string; logFile: string; port?: number }): Promise<SandboxRedis> {
  const port = options.port ?? (await freePort());
  const proc = startProcess(
    redisServerPath(),
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', options.directory, '--protected-mode', 'yes'],
    { logFile: options.logFile },
  );
  await waitForPort(port, { name: 'redis-server', isAlive: proc.alive });
  return { url: `redis://127.0.0.1:${port}`, port, pid: proc.pid };
}
