import { pipeline } from 'node:stream';
import { AbortMultipartUploadCommand, DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { PostgresConfig } from '../config/config.js';
import { describeError, PachbackupError } from '../errors.js';
import { MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from '../object-store/multipart-limits.js';
import { conninfoForDatabase, libpqEnvironment, throwIfCancelled, withPostgresClient } from './connection.js';
import { dumpLocation, isNotFound, type DumpObject } from './dump-object.js';
import { HashingStream } from './hashing-stream.js';
import { describeExit, spawnFailure, startPgTool, type PgToolExit } from './pg-tool-process.js';
import { checkDumpCompatible, findPgTool, toolVersion } from './pg-tools.js';
import { majorFromVersionNumber } from './server-info.js';

/**
 * pg_dump's archive formats pachbackup writes. Only `custom` (`-Fc`): it streams to stdout, is compressed,
 * and pg_restore can restore it selectively and in parallel. (`directory` cannot stream; `plain` SQL cannot
 * be restored with pg_restore's --no-owner/--no-privileges choices or in parallel.)
 */
export type DumpFormat = 'custom';

/** Progress of a running dump: bytes pg_dump has written so far (reported about every 250 ms). */
export interface DumpProgress {
  database: string;
  bytes: number;
}

/** A finished dump: the object holds exactly `bytes` bytes whose sha256 is `sha256`. */
export interface DumpResult {
  database: string;
  key: string;
  bytes: number;
  /** Hex sha256 of the object's bytes, computed while streaming; `restoreDatabase` and `listDump` check it. */
  sha256: string;
  format: DumpFormat;
  /** pg_dump's `--version` line, e.g. "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
  pgDumpVersion: string;
  /** The server's `server_version`, e.g. "15.18 (Debian 15.18-0+deb12u1)". */
  serverVersion: string;
  durationMs: number;
}

/** What `dumpDatabase` needs. */
export interface DumpDatabaseOptions {
  postgres: PostgresConfig;
  database: string;
  /** The object to create. It must not exist yet: a backup is never overwritten. */
  target: DumpObject;
  signal: AbortSignal;
  onProgress?: (progress: DumpProgress) => void;
  format?: DumpFormat;
  /** pg_dump to run; default: the newest under /usr/lib/postgresql/<major>/bin, else PATH (see `findPgTool`). */
  pgDumpPath?: string;
  /** Multipart part size; default `dumpPartSize` of the database's size. Minimum 5 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded at once; default 2. Memory use is about partSize × (queueSize + 1). */
  queueSize?: number;
  /** How long pg_dump waits for its table locks before failing (`--lock-wait-timeout`); default 120 s. */
  lockWaitTimeoutSeconds?: number;
  /**
   * A snapshot exported by a session that is still open (see `exportSnapshot`): the dump is of that moment
   * (`pg_dump --snapshot`), not of when it runs.
   */
  snapshot?: string;
}

/** The first bytes of every custom-format archive (pg_backup_archiver.c writes "PGDMP" then the version). */
const CUSTOM_MAGIC = Buffer.from('PGDMP', 'ascii');

const MiB = 1024 * 1024;
const MIN_DUMP_PART_SIZE = 8 * MiB;

/**
 * The part size for a database's dump upload: 8 MiB, or larger when the database is so big that its dump might not
 * fit in S3's 10,000 parts. The dump is assumed no larger than twice the database's on-disk size (a custom-format
 * archive is compressed, and usually much smaller). Memory is what is at stake: the upload holds about
 * partSize × (queueSize + 1) bytes, so a fixed large part size made the worker's memory grow with the database;
 * this keeps it at about 24 MiB per dump up to a 39 GiB database, and grows only where the part limit demands.
 */
export function dumpPartSize(databaseBytes: number): number {
  const needed = Math.ceil((2 * Math.max(0, databaseBytes)) / MAX_PARTS / MiB) * MiB;
  // Above ~27 TB the doubled guess would ask for parts S3 refuses; 10,000 of its largest parts are more than its
  // largest object (5 TiB), so a dump that size could not be stored anyway.
  return Math.min(MAX_PART_SIZE, Math.max(MIN_DUMP_PART_SIZE, needed));
}

/**
 * Dumps one database with pg_dump (custom format) straight into the backup store: pg_dump's stdout is hashed
 * (sha256) on its way into a multipart `Upload`; nothing is written to local disk.
 *
 * Owners and privileges stay in the archive (a faithful record; pg_dump's default, as in Pachyderm's backup
 * docs); `restoreDatabase` leaves them out when restoring, which the custom format allows.
 *
 * Guarantees: the object exists only if pg_dump exited 0, wrote a custom-format archive, and every byte was
 * stored — the stream's end is held back until pg_dump's exit status is known, so a failing pg_dump makes the
 * upload fail instead of completing a truncated object; the stored size is checked with HeadObject afterwards.
 * On any failure or cancellation the multipart upload is aborted and no object is left at the key.
 *
 * Errors (PachbackupError): 'conflict' when the key exists; 'precondition' when pg_dump is older than the
 * server; 'dependency-missing' when pg_dump cannot run; 'unavailable' when pg_dump fails (not retryable; the
 * message names the database and pg_dump's error) or the upload fails (retryable); 'integrity' when the
 * output is not an archive or the stored size differs; 'cancelled' when `signal` aborts.
 */
export async function dumpDatabase(options: DumpDatabaseOptions): Promise<DumpResult> {
  const { postgres, database, target, signal } = options;
  const format = options.format ?? 'custom';
  const started = Date.now();
  const location = dumpLocation(target);
  throwIfCancelled(signal, `starting the dump of database "${database}"`);

  const pgDump = findPgTool('pg_dump', options.pgDumpPath !== undefined ? { explicitPath: options.pgDumpPath } : {});
  const tool = await toolVersion(pgDump, { signal });
  const server = await withPostgresClient(
    postgres,
    database,
    async (client) =>
      (
        await client.query<{ num: string; text: string; size: string }>(
          `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text, pg_database_size(current_database())::text AS size`,
        )
      ).rows[0]!,
    { signal },
  );
  const incompatible = checkDumpCompatible(tool.major, majorFromVersionNumber(Number(server.num)));
  if (incompatible) throw incompatible;
  await assertAbsent(target, signal);

  const args = [
    '--format=custom',
    '--no-password', // never prompt: there is no one to answer
    `--lock-wait-timeout=${(options.lockWaitTimeoutSeconds ?? 120) * 1000}`,
    ...(options.snapshot !== undefined ? [`--snapshot=${options.snapshot}`] : []),
    conninfoForDatabase(database),
  ];
  const proc = startPgTool(pgDump, args, { env: libpqEnvironment(postgres, database), stdout: 'pipe' });
  let endFailure: PachbackupError | undefined;
  const hasher = new HashingStream({
    ...(options.onProgress ? { onBytes: (bytes: number) => options.onProgress?.({ database, bytes }) } : {}),
    beforeEnd: async () => {
      const exit = await proc.exited;
      if (exit.code !== 0) throw new Error(`pg_dump did not succeed`); // described below, from the exit status
      if (!hasher.head().subarray(0, CUSTOM_MAGIC.length).equals(CUSTOM_MAGIC)) {
        endFailure = new PachbackupError('integrity', `pg_dump of database "${database}" exited 0 but its output (${hasher.bytes} bytes) is not a custom-format archive`, {
          hint: `check that ${pgDump} is PostgreSQL's pg_dump`,
        });
        throw endFailure;
      }
    },
  });
  pipeline(proc.child.stdout!, hasher, () => {
    // Failures surface through the upload and pg_dump's exit status.
  });

  const upload = new Upload({
    client: target.s3,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: hasher,
      ContentType: 'application/octet-stream',
      Metadata: { 'pachbackup-database': database, 'pachbackup-format': format, 'pg-dump-version': String(tool.major) },
    },
    partSize: Math.max(options.partSizeBytes ?? dumpPartSize(Number(server.size)), MIN_PART_SIZE),
    // Two parts in flight keep pg_dump (one compressing process) busy; more would only hold more memory.
    queueSize: options.queueSize ?? 2,
    leavePartsOnError: false,
  });

  const onAbort = (): void => {
    hasher.destroy(new Error('cancelled'));
    proc.stop();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  let uploadError: unknown;
  try {
    await upload.done();
  } catch (err) {
    uploadError = err ?? new Error('upload failed');
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (uploadError !== undefined) {
    // pg_dump may be blocked writing into a pipe nobody reads any more.
    hasher.destroy();
    proc.stop();
  }
  const exit = await proc.exited;

  // The stream's end waited for a clean exit, so a completed upload implies exit 0 — checked again regardless.
  const uploaded = uploadError === undefined && exit.code === 0 && !signal.aborted;
  const failure = uploaded ? await checkStoredSize(target, hasher.bytes, database) : undefined;
  if (uploaded && failure === undefined) {
    return {
      database,
      key: target.key,
      bytes: hasher.bytes,
      sha256: hasher.digest()!,
      format,
      pgDumpVersion: tool.text,
      serverVersion: server.text,
      durationMs: Date.now() - started,
    };
  }

  const leftover = await removeLeftovers(target, upload.uploadId);
  const error =
    failure ??
    dumpFailure({ database, postgres, location, pgDump, exit, stderr: proc.stderr(), signal, uploadError, endFailure, leftover });
  throw error;
}

/** The error for a failed dump, most telling cause first: cancellation, pg_dump, the archive check, the upload. */
function dumpFailure(f: {
  database: string;
  postgres: PostgresConfig;
  location: string;
  pgDump: string;
  exit: PgToolExit;
  stderr: string;
  signal: AbortSignal;
  uploadError: unknown;
  endFailure: PachbackupError | undefined;
  leftover: string | undefined;
}): PachbackupError {
  const extra = f.leftover ? { hint: f.leftover } : {};
  if (f.signal.aborted) {
    return new PachbackupError('cancelled', `the dump of database "${f.database}" was cancelled; nothing was kept at ${f.location}`, { ...extra, cause: f.signal.reason });
  }
  if (f.exit.spawnError) return spawnFailure(f.pgDump, f.exit);
  if (f.exit.code !== 0) {
    return new PachbackupError('unavailable', `pg_dump of database "${f.database}" on ${f.postgres.host}:${f.postgres.port} failed: ${describeExit(f.pgDump, f.exit, f.stderr)}`, {
      retryable: false,
      ...extra,
      cause: f.uploadError,
    });
  }
  if (f.endFailure) return f.endFailure;
  return new PachbackupError('unavailable', `uploading the dump of database "${f.database}" to ${f.location} failed: ${describeError(f.uploadError)}`, {
    retryable: true,
    ...extra,
    cause: f.uploadError,
  });
}

/** Refuses to write over an existing object: a backup, once written, is never replaced. */
async function assertAbsent(target: DumpObject, signal: AbortSignal): Promise<void> {
  try {
    await target.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }), { abortSignal: signal });
  } catch (err) {
    if (isNotFound(err)) return;
    throwIfCancelled(signal, `checking s3://${target.bucket}/${target.key}`);
    throw new PachbackupError('unavailable', `cannot check s3://${target.bucket}/${target.key} in the backup store: ${describeError(err)}`, { retryable: true, cause: err });
  }
  throw new PachbackupError('conflict', `s3://${target.bucket}/${target.key} already exists; a backup is never overwritten`, {
    hint: 'write each dump under a new key (e.g. one per backup run)',
  });
}

/** After a successful upload: the stored object must be exactly as long as what pg_dump wrote. */
async function checkStoredSize(target: DumpObject, bytes: number, database: string): Promise<PachbackupError | undefined> {
  try {
    const head = await target.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
    if (head.ContentLength === bytes) return undefined;
    return new PachbackupError('integrity', `the dump of database "${database}" stored at s3://${target.bucket}/${target.key} has ${head.ContentLength} bytes, but pg_dump wrote ${bytes}`, {
      hint: 'the backup store altered the upload; it was removed — check the store and try again',
    });
  } catch (err) {
    return new PachbackupError('unavailable', `cannot confirm the dump of database "${database}" at s3://${target.bucket}/${target.key}: ${describeError(err)}`, { retryable: true, cause: err });
  }
}

/**
 * Best effort after a failure: abort the multipart upload (again — lib-storage already tries) and delete any
 * object that appeared at the key (only possible when the failure came after the upload completed; the key
 * was checked to be free before). Returns a note for the error's hint when something may remain.
 */
async function removeLeftovers(target: DumpObject, uploadId: string | undefined): Promise<string | undefined> {
  const notes: string[] = [];
  if (uploadId) {
    try {
      await target.s3.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }));
    } catch (err) {
      if (!isNotFound(err)) {
        notes.push(
          `the incomplete multipart upload ${uploadId} could not be aborted (${describeError(err)}); its parts are invisible but billed until removed — a bucket lifecycle rule with AbortIncompleteMultipartUpload cleans such leftovers`,
        );
      }
    }
  }
  try {
    await target.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
    await target.s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key }));
  } catch (err) {
    if (!isNotFound(err)) notes.push(`s3://${target.bucket}/${target.key} may hold an incomplete dump and could not be checked or removed (${describeError(err)}): delete it`);
  }
  return notes.length > 0 ? notes.join('; ') : undefined;
}
