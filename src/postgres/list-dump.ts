import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream';
import { describeError, PachbackupError } from '../errors.js';
import { throwIfCancelled, toolEnvironment } from './connection.js';
import { dumpLocation, openDumpObject, sha256Mismatch, type DumpObject } from './dump-object.js';
import { HashingStream } from './hashing-stream.js';
import { describeExit, spawnFailure, startPgTool } from './pg-tool-process.js';
import { findPgTool } from './pg-tools.js';

/** Progress of `listDump`: bytes of the object read and hashed so far. */
export interface ListDumpProgress {
  bytes: number;
  totalBytes: number | undefined;
}

/** What `listDump` needs. */
export interface ListDumpOptions {
  source: DumpObject;
  /** The sha256 recorded when the dump was made. */
  expectedSha256: string;
  signal: AbortSignal;
  onProgress?: (progress: ListDumpProgress) => void;
  /** pg_restore to run; default: the newest under /usr/lib/postgresql/<major>/bin, else PATH. */
  pgRestorePath?: string;
}

/** What a verified dump holds, from its table of contents. */
export interface DumpListing {
  /** Entries pg_restore lists (tables, table data, indexes, constraints, sequences, …). Always > 0 on success. */
  entries: number;
  bytes: number;
  sha256: string;
  /** From the archive header, e.g. "15.18 (Debian 15.18-0+deb12u1)". */
  dumpedFromServer: string | undefined;
  /** From the archive header, e.g. "15.18 (Debian 15.18-0+deb12u1)". */
  dumpedByPgDump: string | undefined;
  /** The database the dump was taken from (header `dbname:`). */
  databaseName: string | undefined;
}

/**
 * Verifies a dump without restoring it: streams the object through a sha256 hash into `pg_restore --list`
 * (stdin is fine for listing) and reads every byte even after pg_restore has read the table of contents, so
 * the whole object is hashed. A checksum mismatch is an 'integrity' error whatever pg_restore said; an archive
 * pg_restore cannot read, or one with no entries, is 'integrity' too.
 */
export async function listDump(options: ListDumpOptions): Promise<DumpListing> {
  const { source, signal } = options;
  throwIfCancelled(signal, `verifying ${dumpLocation(source)}`);
  const pgRestore = findPgTool('pg_restore', options.pgRestorePath !== undefined ? { explicitPath: options.pgRestorePath } : {});
  const { body, size } = await openDumpObject(source, signal);

  const proc = startPgTool(pgRestore, ['--list'], { env: toolEnvironment(), stdin: 'pipe', stdout: 'pipe', signal });
  const stdout: Buffer[] = [];
  let stdoutBytes = 0;
  proc.child.stdout!.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    if (stdoutBytes <= 64 * 1024 * 1024) stdout.push(chunk);
  });
  const stdin = proc.child.stdin!;
  let stdinOpen = true;
  // pg_restore --list stops reading after the table of contents: EPIPE is expected, not a failure.
  stdin.on('error', () => (stdinOpen = false));
  stdin.on('close', () => (stdinOpen = false));

  const hasher = new HashingStream(options.onProgress ? { onBytes: (bytes) => options.onProgress?.({ bytes, totalBytes: size }) } : {});
  let readError: unknown;
  pipeline(body, hasher, (err) => {
    if (err) readError = err;
  });
  const onAbort = (): void => void hasher.destroy(new Error('cancelled'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of hasher) {
      if (stdinOpen && !stdin.write(chunk)) await drained(stdin);
    }
  } catch (err) {
    readError ??= err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (stdinOpen) stdin.end();
  if (readError !== undefined || signal.aborted) {
    proc.stop();
    await proc.exited;
    throwIfCancelled(signal, `verifying ${dumpLocation(source)}`);
    throw new PachbackupError('unavailable', `reading ${dumpLocation(source)} failed after ${hasher.bytes} bytes: ${describeError(readError)}`, { retryable: true, cause: readError });
  }
  const exit = await proc.exited;
  throwIfCancelled(signal, `verifying ${dumpLocation(source)}`);

  const sha256 = hasher.digest()!;
  if (sha256 !== options.expectedSha256.toLowerCase()) throw sha256Mismatch(source, options.expectedSha256, sha256, hasher.bytes);
  if (exit.spawnError) throw spawnFailure(pgRestore, exit);
  if (exit.code !== 0) {
    throw new PachbackupError('integrity', `${dumpLocation(source)} matches its sha256 but pg_restore cannot read it: ${describeExit(pgRestore, exit, proc.stderr())}`, {
      hint: 'the dump was written incompletely or by an incompatible pg_dump; make a new backup',
    });
  }
  const listing = Buffer.concat(stdout).toString('utf8');
  const entries = listing.split('\n').filter((line) => /^\d+;/.test(line)).length;
  if (entries === 0) {
    throw new PachbackupError('integrity', `${dumpLocation(source)} lists no entries: the archive is empty`, { hint: 'make a new backup' });
  }
  return {
    entries,
    bytes: hasher.bytes,
    sha256,
    dumpedFromServer: headerField(listing, 'Dumped from database version'),
    dumpedByPgDump: headerField(listing, 'Dumped by pg_dump version'),
    databaseName: headerField(listing, 'dbname'),
  };
}

function headerField(listing: string, name: string): string | undefined {
  const line = listing.split('\n').find((l) => l.startsWith(';') && l.includes(`${name}:`));
  return line?.slice(line.indexOf(`${name}:`) + name.length + 1).trim();
}

/** Resolves when `stream` wants more data, or has closed or failed (then writing stops). */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
