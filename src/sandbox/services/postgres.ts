import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PachbackupError } from '../../errors.js';
import { freePort } from '../processes.js';

const run = promisify(execFile);

/**
 * A throwaway PostgreSQL cluster of Debian's PostgreSQL: initdb into a folder, started on a loopback port with
 * durability off (it is scratch), listening with TLS on (a self-signed certificate) so sslmode=require is
 * exercised for real. Stopped by its postmaster PID.
 */
export interface SandboxPostgres {
  /** Superuser URL (user postgres, trust auth on loopback). */
  url: string;
  port: number;
  pid: number;
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

/** initdb refuses to run as root: run PostgreSQL's own tools as the postgres user then. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return ['runuser', ['-u', 'postgres', '--', command, ...args]];
  return [command, args];
}

function chownToPostgres(path: string): void {
  if (process.getuid?.() !== 0) return;
  const uid = Number(readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):(\d+):/m)?.[1]);
  const gid = Number(readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):(\d+):/m)?.[2]);
  if (Number.isFinite(uid) && Number.isFinite(gid)) chownSync(path, uid, gid);
}

/** The postgres user must be able to reach its data folder: let others traverse (not read) the parent. */
function allowTraversal(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
}

/** Creates the cluster in `dataDir` (if new) and starts it. */
export async function startPostgres(options: { dataDir: string; port?: number }): Promise<SandboxPostgres> {
  const binDir = findPostgresBinDir();
  const { dataDir } = options;
  const port = options.port ?? (await freePort());
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chownToPostgres(dataDir);
    allowTraversal(dirname(dataDir));
    const [cmd, args] = asPostgres(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    await run(cmd, args).catch((err: Error & { stderr?: string }) => {
      throw new PachbackupError('unavailable', `initdb failed: ${err.stderr ?? err.message}`);
    });
    await makeCertificate(dataDir);
  }
  const settings = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-k ${dataDir}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c ssl=on',
    '-c max_connections=200',
  ].join(' ');
  const [cmd, args] = asPostgres(join(binDir, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '60', '-l', join(dataDir, 'server.log'), '-o', settings, 'start']);
  await run(cmd, args).catch((err: Error & { stderr?: string; stdout?: string }) => {
    const log = existsSync(join(dataDir, 'server.log')) ? readFileSync(join(dataDir, 'server.log'), 'utf8').split('\n').slice(-5).join('\n') : '';
    throw new PachbackupError('unavailable', `PostgreSQL did not start: ${err.stderr || err.message}\n${log}`);
  });
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, pid, dataDir, binDir, caFile: join(dataDir, 'server.crt') };
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
