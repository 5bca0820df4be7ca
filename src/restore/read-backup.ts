import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { backupFiles, backupFolder } from '../catalog/backup-layout.js';
import type { BackupManifest } from '../catalog/manifest.js';
import type { ObjectStoreConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { isNotFound, toStoreError } from '../object-store/store-error.js';

/**
 * Where a backup is: the backup store (bucket and prefix, with a client for it) and the name of the cluster it
 * is a backup of — which may differ from the cluster a restore writes to.
 */
export interface BackupLocation {
  s3: S3Client;
  store: ObjectStoreConfig;
  cluster: string;
  /** The configured cluster whose backup store this is, so work handed to other workers can name the store (never its credentials). */
  storeOf?: string;
}

async function readBytes(location: BackupLocation, key: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  try {
    const got = await location.s3.send(new GetObjectCommand({ Bucket: location.store.bucket, Key: key }), { abortSignal: signal });
    return Buffer.from(await got.Body!.transformToByteArray());
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw toStoreError(err, `reading s3://${location.store.bucket}/${key}`, signal);
  }
}

/** A text file of the backup store as stored (e.g. Helm values); undefined when there is none at `key`. */
export async function readStoredText(location: BackupLocation, key: string, signal?: AbortSignal): Promise<string | undefined> {
  return (await readBytes(location, key, signal))?.toString('utf8');
}

/**
 * A backup's manifest as stored, with the sha256 of its bytes — what a restore plan's fingerprint binds an
 * approval to: a manifest rewritten after the plan was made changes it. A backup without a manifest is not
 * complete and cannot be restored ('not-found').
 */
export async function readBackupManifest(location: BackupLocation, backupId: string, signal?: AbortSignal): Promise<{ manifest: BackupManifest; key: string; sha256: string }> {
  const key = backupFiles.manifest(location.store, location.cluster, backupId);
  const bytes = await readBytes(location, key, signal);
  if (!bytes) {
    throw new PachbackupError('not-found', `no complete backup ${backupId} of ${location.cluster} in s3://${location.store.bucket}/${location.store.prefix}`, {
      hint: `\`pachbackup list --cluster ${location.cluster}\` shows the backups; a backup without manifest.json never completed`,
    });
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as BackupManifest;
  } catch (err) {
    throw new PachbackupError('integrity', `s3://${location.store.bucket}/${key} is not valid JSON`, { cause: err });
  }
  if (manifest.id !== backupId || !Array.isArray(manifest.databases) || !manifest.objects?.inventory) {
    throw new PachbackupError('integrity', `s3://${location.store.bucket}/${key} is not the manifest of backup ${backupId}`);
  }
  return { manifest, key, sha256: createHash('sha256').update(bytes).digest('hex') };
}

const plannedManifests = new WeakMap<BackupLocation, Map<string, BackupManifest>>();

/**
 * The manifest of the backup a plan was made for, refused ('precondition') when its bytes are no longer the ones
 * the plan — and so the approval — saw. Read once per location object (one run's steps share it).
 */
export async function readPlannedManifest(location: BackupLocation, planned: { id: string; manifestSha256: string }, signal?: AbortSignal): Promise<BackupManifest> {
  let cache = plannedManifests.get(location);
  if (!cache) plannedManifests.set(location, (cache = new Map()));
  const key = `${planned.id}@${planned.manifestSha256}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const { manifest, sha256 } = await readBackupManifest(location, planned.id, signal);
  if (sha256 !== planned.manifestSha256) {
    throw new PachbackupError('precondition', `the manifest of ${planned.id} changed since the restore was planned`, { hint: 'plan the restore again' });
  }
  cache.set(key, manifest);
  return manifest;
}

/**
 * The Helm values kept with a backup (the release's user-supplied values), checked against the manifest's
 * sha256; undefined when the backup has none (the cluster was not installed with Helm).
 */
export async function readBackupHelmValues(location: BackupLocation, manifest: BackupManifest, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
  const recorded = manifest.helmValues;
  if (!recorded) return undefined;
  const bytes = await readBytes(location, recorded.key, signal);
  if (!bytes) throw new PachbackupError('integrity', `the backup's Helm values s3://${location.store.bucket}/${recorded.key} are missing`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== recorded.sha256) {
    throw new PachbackupError('integrity', `the backup's Helm values s3://${location.store.bucket}/${recorded.key} have sha256 ${sha256}, the manifest says ${recorded.sha256}`);
  }
  const values: unknown = parse(bytes.toString('utf8'));
  if (values === null || values === undefined) return {};
  if (typeof values !== 'object' || Array.isArray(values)) throw new PachbackupError('integrity', `the backup's Helm values s3://${location.store.bucket}/${recorded.key} are not a YAML mapping`);
  return values as Record<string, unknown>;
}

/** `<backup folder>/restores/<restore-id>/helm-values.yaml`: the rendered values of one restore, beside the backup. */
export function restoredHelmValuesKey(location: Pick<BackupLocation, 'store' | 'cluster'>, backupId: string, restoreId: string): string {
  return `${backupFolder(location.store, location.cluster, backupId)}/restores/${restoreId}/helm-values.yaml`;
}
