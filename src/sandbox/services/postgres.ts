import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PachbackupError } from '../../errors.js';
import { freePort, stopProcess } from '../processes.js';

const run = promisify(execFile);

/**
 * A throwaway PostgreSQL cluster of Debian's PostgreSQL: initdb into a new folder, started on a loopback port with
 * durability off (it is scratch), listening with TLS on (a self-signed certificate) so sslmode=require is
 * exercised for real. Stopped by its postmaster PID.
 */
export interface SandboxPostgres {
  /** Superuser URL (user postgres, trust auth on loopback). */
  url: string;
  port: number;
  pid: number;
  /** Where the cluster lives: the caller's folder, or (as root) a directory of its own; remove it after stopping. */
  dataDir: string;
  binDir: string;
  /** PEM of the server's self-signed certificate, usable as a CA for verify-ca. */
  caFile: string;
}

/** The newest installed server's bin folder, e.g. /usr/lib/postgresql/15/bin. */
export function findPostgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new PachbackupError('dependency-missing', 'PostgreSQL server binaries not found under /usr/lib/postgresql', {
      hint: 'install them: apt-get install -y postgresql',
    });
  }
  return join(root, versions[0]!, 'bin');
}

/** initdb refuses to run as root: PostgreSQL's own tools then run as the postgres user. */
function runsAsPostgres(): boolean {
  return process.getuid?.() === 0;
}

function asPostgres(command: string, args: string[]): [string, string[]] {
  if (runsAsPostgres()) return ['runuser', ['-u', 'postgres', '--', command, ...args]];
  return [command, args];
}

function chownToPostgres(path: string): void {
  if (!runsAsPostgres()) return;
  const entry = readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):(\d+):/m);
  if (entry) chownSync(path, Number(entry[1]), Number(entry[2]));
}

/**
 * A data directory of its own for a cluster run by the postgres user (we are root): made by postgres itself
 * (`mktemp -d`: mode 0700, owned by postgres) in the first temporary folder postgres can reach. The caller's
 * folders keep their permissions: a clone in /root or in a `mktemp -d` folder (0700) cannot be traversed by
 * postgres, and opening them up would weaken them.
 */
async function makePostgresOwnDirectory(): Promise<string> {
  const candidates = [...new Set([tmpdir(), '/tmp', '/var/tmp'])];
  const refusals: string[] = [];
  for (const base of candidates) {
    try {
      const { stdout } = await run('runuser', ['-u', 'postgres', '--', 'mktemp', '-d', join(base, 'pachbackup-postgres-XXXXXXXX')]);
      return stdout.trim();
    } catch (err) {
      refusals.push(`${base}: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`);
    }
  }
  throw new PachbackupError('precondition', `the postgres user can create a folder in none of ${candidates.join(', ')} (${refusals.join('; ')})`, {
    hint: 'give the postgres user a temporary folder it can write (TMPDIR, or /tmp with its usual mode 1777)',
  });
}

/**
 * Creates a new cluster and starts it. `dataDir` is where the caller keeps it; as root, PostgreSQL's tools run as
 * the postgres user, and the cluster goes in a directory of its own that postgres can reach instead (see
 * `makePostgresOwnDirectory`) — `SandboxPostgres.dataDir` says where; whoever stops the cluster removes it.
 * Unix sockets are off: every client connects over TCP on loopback (a socket path inside a deep folder can
 * exceed the kernel's 107 bytes).
 */
export async function startPostgres(options: { dataDir: string; port?: number; env?: NodeJS.ProcessEnv }): Promise<SandboxPostgres> {
  const binDir = findPostgresBinDir();
  const dataDir = runsAsPostgres() ? await makePostgresOwnDirectory() : options.dataDir;
  const port = options.port ?? (await freePort());
  try {
    if (!runsAsPostgres()) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const [initdb, initdbArgs] = asPostgres(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    await run(initdb, initdbArgs).catch((err: Error & { stderr?: string }) => {
      throw new PachbackupError('unavailable', `initdb failed: ${err.stderr ?? err.message}`);
    });
    await makeCertificate(dataDir);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const settings = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    "-c unix_socket_directories=''",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c ssl=on',
    '-c max_connections=200',
  ].join(' ');
  const logFile = join(dataDir, 'server.log');
  const [cmd, args] = asPostgres(join(binDir, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '60', '-l', logFile, '-o', settings, 'start']);
  try {
    await run(cmd, args, options.env ? { env: options.env } : {});
  } catch (err) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
    // pg_ctl gave up waiting, or the server stopped at once (a port already in use): leave nothing running.
    await stopPostmaster(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new PachbackupError('unavailable', `PostgreSQL did not start on 127.0.0.1:${port}: ${detail}${log ? `\n${log}` : ''}`);
  }
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, pid, dataDir, binDir, caFile: join(dataDir, 'server.crt') };
}

/** Stops the postmaster that `dataDir`'s postmaster.pid names, if it runs. */
async function stopPostmaster(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0) await stopProcess(pid, { signal: 'SIGINT', timeoutMs: 15_000 });
}

/** A self-signed certificate for 127.0.0.1/localhost, so clients can use TLS up to verify-full. */
async function makeCertificate(dataDir: string): Promise<void> {
  const key = join(dataDir, 'server.key');
  const crt = join(dataDir, 'server.crt');
  await run('openssl', [
    'req', '-new', '-x509', '-days', '3650', '-nodes', '-newkey', 'rsa:2048',
    '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', key, '-out', crt,
  ]).catch((err: Error & { stderr?: string }) => {
    throw new PachbackupError('dependency-missing', `openssl could not make a certificate: ${err.stderr ?? err.message}`, { hint: 'apt-get install -y openssl' });
  });
  chownToPostgres(key);
  chownToPostgres(crt);
  chmodSync(key, 0o600);
  writeFileSync(join(dataDir, 'sandbox-note.txt'), 'Throwaway cluster made by `pachbackup sandbox up`.\n');
}
