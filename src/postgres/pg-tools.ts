import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PachbackupError } from '../errors.js';
import { throwIfCancelled } from './connection.js';
import { describeExit, runPgTool, spawnFailure } from './pg-tool-process.js';

/** The PostgreSQL client programs pachbackup runs. */
export type PgToolName = 'pg_dump' | 'pg_restore' | 'psql';

/** A tool's version as it reports it (`pg_dump --version`). */
export interface ToolVersion {
  /** 15 for "15.18"; 9.6 for "9.6.24". */
  major: number;
  /** 18 for "15.18"; 0 for development builds such as "17beta1". */
  minor: number;
  /** The whole first line, e.g. "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
  text: string;
}

/** Where Debian and Ubuntu install each major version's programs: /usr/lib/postgresql/<major>/bin. */
export const DEBIAN_POSTGRESQL_ROOT = '/usr/lib/postgresql';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of a PostgreSQL client tool: `explicitPath` when given (it must be executable); otherwise the one
 * under Debian's /usr/lib/postgresql/<major>/bin with the highest major (a newer pg_dump dumps every older
 * server, so the newest installed is the safe choice; Debian's /usr/bin/pg_dump wrapper picks a version by
 * its own rules); otherwise the first on PATH. Fails with 'dependency-missing' and the package to install.
 */
export function findPgTool(name: PgToolName, options: { explicitPath?: string; root?: string; path?: string } = {}): string {
  if (options.explicitPath !== undefined) {
    if (isExecutable(options.explicitPath)) return options.explicitPath;
    throw new PachbackupError('dependency-missing', `${name} not found or not executable at ${options.explicitPath}`, {
      hint: `fix the configured path of ${name}, or leave it unset to use the newest one under ${DEBIAN_POSTGRESQL_ROOT}`,
    });
  }
  const root = options.root ?? DEBIAN_POSTGRESQL_ROOT;
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((entry) => /^\d+(\.\d+)?$/.test(entry) && isExecutable(join(root, entry, 'bin', name)))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0] !== undefined) return join(root, majors[0], 'bin', name);
  }
  for (const dir of (options.path ?? process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  throw new PachbackupError('dependency-missing', `${name} not found (looked in ${root}/*/bin and on PATH)`, {
    hint: 'install the PostgreSQL client tools of your server\'s major version or newer, e.g. apt-get install -y postgresql-client-16',
  });
}

/** Parses a `--version` line: "pg_dump (PostgreSQL) 15.18 (Debian …)", "… 9.6.24", "… 17beta1". */
export function parseToolVersion(text: string): ToolVersion | undefined {
  const line = text.split('\n')[0]?.trim() ?? '';
  const match = line.match(/\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/) ?? line.match(/\s(\d+)(?:\.(\d+))?(?:\.(\d+))?/);
  if (!match) return undefined;
  const first = Number(match[1]);
  if (first >= 10) return { major: first, minor: match[2] === undefined ? 0 : Number(match[2]), text: line };
  // Before 10, the major version had two parts (9.6) and the minor was the third.
  return { major: first + Number(match[2] ?? 0) / 10, minor: Number(match[3] ?? 0), text: line };
}

/** Runs `<tool> --version` and parses it. Fails with 'dependency-missing' when the tool cannot run. */
export async function toolVersion(path: string, options: { signal?: AbortSignal } = {}): Promise<ToolVersion> {
  const { exit, stdout, stderr } = await runPgTool(path, ['--version'], { env: process.env, ...(options.signal ? { signal: options.signal } : {}) });
  throwIfCancelled(options.signal, `running ${path} --version`);
  if (exit.spawnError) throw spawnFailure(path, exit);
  const version = exit.code === 0 ? parseToolVersion(stdout) : undefined;
  if (!version) {
    throw new PachbackupError('dependency-missing', `cannot tell the version of ${path}: ${exit.code === 0 ? `unexpected output "${stdout.trim()}"` : describeExit(path, exit, stderr)}`);
  }
  return version;
}

/** The oldest server the pg_dump of each major can still dump (pg_dump's documented support window). */
function oldestDumpableServer(toolMajor: number): number {
  if (toolMajor >= 15) return 9.2;
  if (toolMajor >= 10) return 8.0;
  return 7.0;
}

function packageFor(major: number): string {
  return `postgresql-client-${major >= 10 ? major : major.toFixed(1)}`;
}

/**
 * Whether pg_dump of `toolMajor` can dump a server of `serverMajor`: pg_dump refuses servers newer than itself
 * ("aborting because of server version mismatch") and drops support for very old ones. Returns a
 * PachbackupError 'precondition' saying what to install, or undefined when they fit.
 */
export function checkDumpCompatible(toolMajor: number, serverMajor: number): PachbackupError | undefined {
  if (toolMajor < serverMajor) {
    return new PachbackupError('precondition', `pg_dump ${toolMajor} cannot dump a PostgreSQL ${serverMajor} server (pg_dump must be the server's major version or newer)`, {
      hint: `install ${packageFor(serverMajor)} (or newer) next to pachbackup, e.g. apt-get install -y ${packageFor(serverMajor)}; pachbackup picks the newest under ${DEBIAN_POSTGRESQL_ROOT}`,
    });
  }
  const oldest = oldestDumpableServer(toolMajor);
  if (serverMajor < oldest) {
    return new PachbackupError('precondition', `pg_dump ${toolMajor} cannot dump a PostgreSQL ${serverMajor} server (it supports ${oldest} and newer)`, {
      hint: `use an older pg_dump, e.g. ${packageFor(14)}, for this server`,
    });
  }
  return undefined;
}
