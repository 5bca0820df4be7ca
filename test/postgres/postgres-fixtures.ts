import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import type { PostgresConfig } from '../../src/config/config.js';
import { services } from '../support/services.js';

const run = promisify(execFile);

/** The shared test server as a configured cluster would see it: TLS verified against the test CA. */
export function testPostgresConfig(databases: string[], overrides: Partial<PostgresConfig> = {}): PostgresConfig {
  return {
    host: '127.0.0.1',
    port: services().postgresPort,
    user: 'postgres',
    sslmode: 'verify-full',
    sslRootCert: services().caFile,
    databases,
    ...overrides,
  };
}

/** Runs `fn` with a superuser client on `url`. */
export async function withUrl<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A self-signed CA certificate that signed nothing the test server uses. */
export async function makeUnrelatedCa(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pachbackup-wrong-ca-'));
  const crt = join(dir, 'ca.crt');
  await run('openssl', ['req', '-new', '-x509', '-days', '1', '-nodes', '-newkey', 'rsa:2048', '-subj', '/CN=Some Other CA', '-keyout', join(dir, 'ca.key'), '-out', crt]);
  return crt;
}

/** The object's keys in the bucket. */
export async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (page.Contents ?? []).map((o) => o.Key!);
}

/** True when HeadObject finds the key. */
export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/** One S3 command as the client sent it, with how it ended. */
export interface SentCommand {
  name: string;
  uploadId: string | undefined;
  ok: boolean;
}

/**
 * Records every command an S3 client sends (after the SDK's retries), and lets a test hold UploadPart requests
 * at a gate until it opens it — to freeze a multipart upload in the middle, deterministically.
 */
export function recordCommands(s3: S3Client, options: { holdUploadParts?: boolean } = {}): {
  sent: SentCommand[];
  firstPartHeld: Promise<void>;
  release: () => void;
} {
  const sent: SentCommand[] = [];
  let release = (): void => undefined;
  const gate = options.holdUploadParts ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  let partArrived = (): void => undefined;
  const firstPartHeld = new Promise<void>((resolve) => (partArrived = resolve));
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      const input = args.input as { UploadId?: string };
      if (name === 'UploadPartCommand') {
        partArrived();
        await gate;
      }
      try {
        const out = await next(args);
        const output = out.output as { UploadId?: string };
        sent.push({ name, uploadId: input.UploadId ?? output.UploadId, ok: true });
        return out;
      } catch (err) {
        sent.push({ name, uploadId: input.UploadId, ok: false });
        throw err;
      }
    },
    { step: 'initialize', name: 'pachbackupTestRecorder' },
  );
  return { sent, firstPartHeld, release: () => release() };
}
