import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PostgresConfig } from '../config/config.js';
import { describeError, isPachbackupError, PachbackupError } from '../errors.js';
import { conninfoForDatabase, libpqEnvironment, sqlState, throwIfCancelled, toolEnvironment, withPostgresClient } from './connection.js';
import { countUserObjects } from './create-database.js';
import { dumpLocation, openDumpObject, sha256Mismatch, type DumpObject } from './dump-object.js';
import { HashingStream } from './hashing-stream.js';
import { describeExit, spawnFailure, startPgTool } from './pg-tool-process.js';
import { findPgTool, toolVersion } from './pg-tools.js';

/**
 * Progress of a restore: first the download (`bytes` of `totalBytes`), then pg_restore working through the
 * archive's entries (`itemsDone` of `itemsTotal`, counted from its --verbose output: an estimate of how far
 * along it is, not of time left — one table's data can take most of it).
 */
export type RestoreProgress =
  | { database: string; phase: 'download'; bytes: number; totalBytes: number | undefined }
  | { database: string; phase: 'restore'; itemsDone: number; itemsTotal: number | undefined };

/** What `restoreDatabase` needs. */
export interface RestoreDatabaseOptions {
  postgres: PostgresConfig;
  /** An existing, empty database (see `createDatabase`). */
  database: string;
  source: DumpObject;
  /** The sha256 recorded when the dump was made (`DumpResult.sha256`). */
  expectedSha256: string;
  /** pg_restore's parallel jobs (`-j`); default 2. Each job is one more connection to the server. */
  jobs?: number;
  signal: AbortSignal;
  onProgress?: (progress: RestoreProgress) => void;
  /** pg_restore to run; default: the newest under /usr/lib/postgresql/<major>/bin, else PATH. */
  pgRestorePath?: string;
  /** Folder for the downloaded archive; default the OS temp folder. It needs room for the whole dump. */
  tempDir?: string;
}

/** A finished restore. */
export interface RestoreResult {
  database: string;
  key: string;
  bytes: number;
  sha256: string;
  jobs: number;
  /** pg_restore's `--version` line. */
  pgRestoreVersion: string;
  durationMs: number;
}

/**
 * Restores a custom-format dump from the backup store into an empty database.
 *
 * pg_restore -j needs a seekable file, so the object is downloaded to a private temporary folder, hashed on
 * the way; the sha256 is compared with `expectedSha256` before pg_restore starts — a mismatch is an
 * 'integrity' error and nothing is restored. Then `pg_restore --no-owner --no-privileges --exit-on-error -j N`:
 * objects end up owned by the restoring user (the one Pachyderm will connect as) and the source's GRANTs are
 * left out, because the source cluster's roles rarely exist on the target (a new managed instance, another
 * account) and ALTER OWNER/GRANT to a missing role would fail the restore. The temporary folder is always removed.
 *
 * Errors (PachbackupError): 'precondition' when the database does not exist; 'conflict' when it is not empty;
 * 'not-found'/'unavailable' for the store; 'integrity' on a checksum mismatch; 'unavailable' (not retryable)
 * when pg_restore fails — the database may then be partly restored; 'cancelled' when `signal` aborts.
 */
export async function restoreDatabase(options: RestoreDatabaseOptions): Promise<RestoreResult> {
  const { postgres, database, source, signal } = options;
  const started = Date.now();
  const jobs = Math.max(1, Math.floor(options.jobs ?? 2));
  const location = dumpLocation(source);
  throwIfCancelled(signal, `starting the restore of database "${database}"`);

  const pgRestore = findPgTool('pg_restore', options.pgRestorePath !== undefined ? { explicitPath: options.pgRestorePath } : {});
  const tool = await toolVersion(pgRestore, { signal });
  await assertEmptyTarget(postgres, database, signal);

  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'pachbackup-restore-'));
  try {
    const file = join(dir, `${database}.dump`);
    const { bytes, sha256 } = await download(source, file, dir, database, signal, options.onProgress);
    if (sha256 !== options.expectedSha256.toLowerCase()) throw sha256Mismatch(source, options.expectedSha256, sha256, bytes);

    const itemsTotal = await countArchiveEntries(pgRestore, file, signal);
    const proc = startPgTool(
      pgRestore,
      ['--no-owner', '--no-privileges', '--exit-on-error', '--no-password', '--verbose', `--jobs=${jobs}`, `--dbname=${conninfoForDatabase(database)}`, file],
      { env: libpqEnvironment(postgres, database), stdout: 'ignore', signal },
    );
    if (options.onProgress) followItems(proc.child.stderr!, jobs, (itemsDone) => options.onProgress?.({ database, phase: 'restore', itemsDone, itemsTotal }));
    const exit = await proc.exited;
    throwIfCancelled(signal, `restoring database "${database}" (it may be partly restored)`);
    if (exit.spawnError) throw spawnFailure(pgRestore, exit);
    if (exit.code !== 0) {
      throw new PachbackupError('unavailable', `pg_restore of ${location} into database "${database}" on ${postgres.host}:${postgres.port} failed: ${describeExit(pgRestore, exit, proc.stderr())}`, {
        retryable: false,
        hint: `database "${database}" may be partly restored: re-create it (createDatabase with overwrite) before trying again`,
      });
    }
    return { database, key: source.key, bytes, sha256, jobs, pgRestoreVersion: tool.text, durationMs: Date.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The target must exist and hold nothing a restore could collide with. */
async function assertEmptyTarget(postgres: PostgresConfig, database: string, signal: AbortSignal): Promise<void> {
  let objects: number;
  try {
    objects = await withPostgresClient(postgres, database, countUserObjects, { signal });
  } catch (err) {
    if (isPachbackupError(err) && sqlState(err.cause) === '3D000') {
      throw new PachbackupError('precondition', `database "${database}" does not exist on ${postgres.host}:${postgres.port}`, {
        hint: 'create it first (createDatabase), then restore into it',
        cause: err,
      });
    }
    throw err;
  }
  if (objects > 0) {
    throw new PachbackupError('conflict', `database "${database}" is not empty (${objects} objects); a restore needs an empty database`, {
      hint: 'restore into a new database, or re-create this one (createDatabase with overwrite)',
    });
  }
}

/** Downloads the object to `file`, hashing on the way. Fails early when the folder has no room for it. */
async function download(
  source: DumpObject,
  file: string,
  dir: string,
  database: string,
  signal: AbortSignal,
  onProgress: RestoreDatabaseOptions['onProgress'],
): Promise<{ bytes: number; sha256: string }> {
  const { body, size } = await openDumpObject(source, signal);
  if (size !== undefined) {
    const fs = await statfs(dir);
    const free = fs.bavail * fs.bsize;
    if (free < size) {
      body.destroy();
      throw new PachbackupError('precondition', `${dir} has ${free} bytes free but the dump ${dumpLocation(source)} is ${size} bytes`, {
        hint: 'free space there or set a temp folder on a larger volume',
      });
    }
  }
  const hasher = new HashingStream(onProgress ? { onBytes: (bytes) => onProgress({ database, phase: 'download', bytes, totalBytes: size }) } : {});
  try {
    await pipeline(body, hasher, createWriteStream(file, { mode: 0o600 }), { signal });
  } catch (err) {
    throwIfCancelled(signal, `downloading ${dumpLocation(source)}`);
    throw new PachbackupError('unavailable', `downloading ${dumpLocation(source)} failed after ${hasher.bytes} bytes: ${describeError(err)}`, { retryable: true, cause: err });
  }
  return { bytes: hasher.bytes, sha256: hasher.digest()! };
}

/** The archive's entry count from its header ("TOC Entries: N"), for progress; undefined if unreadable. */
async function countArchiveEntries(pgRestore: string, file: string, signal: AbortSignal): Promise<number | undefined> {
  const proc = startPgTool(pgRestore, ['--list', file], { env: toolEnvironment(), signal });
  let text = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    if (text.length < 4096) text += chunk.toString('utf8');
  });
  await proc.exited;
  const match = text.match(/TOC Entries:\s*(\d+)/);
  return match ? Number(match[1]) : undefined;
}

/**
 * Counts the archive entries pg_restore reports as done in its --verbose output: "processing item N" and
 * "finished item N" when parallel, one "creating …"/"processing data …"/"executing …" line per entry otherwise.
 */
function followItems(stderr: NodeJS.ReadableStream, jobs: number, report: (itemsDone: number) => void): void {
  const done = new Set<string>();
  let serial = 0;
  let partial = '';
  let last = 0;
  stderr.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (jobs > 1) {
        const item = line.match(/(?:processing|finished) item (\d+)/);
        if (item) done.add(item[1]!);
      } else if (/^pg_restore: (creating|processing data|executing) /.test(line)) {
        serial += 1;
      }
    }
    const now = Date.now();
    if (now - last >= 250) {
      last = now;
      report(jobs > 1 ? done.size : serial);
    }
  });
  stderr.on('end', () => report(jobs > 1 ? done.size : serial));
}
