import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BackupManifest, VerificationRecord } from '../catalog/manifest.js';
import type { ObjectStoreConfig } from '../config/config.js';
import { describeError } from '../errors.js';
import { readInventory } from '../object-store/inventory.js';
import { verifyInventoryObjects, type VerifyPoolResult } from '../object-store/verify-pool.js';
import { listDump } from '../postgres/list-dump.js';
import type { StepProgress } from '../runner/run-event.js';

type Check = VerificationRecord['checks'][number];

async function sha256Of(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of got.Body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * A way to check a backup's inventory objects other than one pass here: given the manifest, either undefined
 * (check here) or `check`, which resolves with what `verifyInventoryObjects` would have found over the whole
 * inventory (`checked` being the number of entries).
 */
export type ObjectsCheck = (manifest: BackupManifest, onProgress: (progress: { checked: number }) => void) => Promise<{ check(): Promise<VerifyPoolResult> } | undefined>;

/**
 * Verifies a backup with nothing but the backup store: every dump's sha256 re-read and `pg_restore --list` run
 * on it, the Helm values' checksum, the inventory's checksum, and every inventory object present in the pool with
 * its size. Every check runs (a failure does not hide the others). Does not write the result; see `catalog`.
 */
export async function verifyBackup(options: {
  s3: S3Client;
  store: ObjectStoreConfig;
  manifest: BackupManifest;
  signal?: AbortSignal;
  onProgress?: (progress: StepProgress) => void;
  /**
   * Another way to check the inventory's objects in the pool — split into key ranges over the workers — for a
   * backup large enough; undefined (or a function returning undefined) checks them here in one pass.
   */
  checkObjects?: ObjectsCheck;
}): Promise<VerificationRecord> {
  const { s3, store, manifest, signal } = options;
  const checks: Check[] = [];
  const run = async (name: string, fn: () => Promise<string>): Promise<Check> => {
    try {
      return { name, ok: true, detail: await fn() };
    } catch (err) {
      return { name, ok: false, detail: describeError(err) };
    }
  };
  const check = async (name: string, fn: () => Promise<string>) => void checks.push(await run(name, fn));

  // The dumps are checked at once; their results are listed in the manifest's order, whichever finishes first.
  const dumpChecks = await Promise.all(
    manifest.databases.map((db) =>
      run(`dump ${db.name}`, async () => {
        const listing = await listDump({ source: { s3, bucket: store.bucket, key: db.key }, expectedSha256: db.sha256, signal: signal ?? new AbortController().signal });
        if (listing.bytes !== db.bytes) throw new Error(`${listing.bytes} bytes stored, the manifest says ${db.bytes}`);
        return `sha256 matches; pg_restore lists ${listing.entries} entries`;
      }),
    ),
  );
  checks.push(...dumpChecks);
  if (manifest.helmValues) {
    const helm = manifest.helmValues;
    await check('helm values', async () => {
      const got = await sha256Of(s3, store.bucket, helm.key, signal);
      if (got.sha256 !== helm.sha256) throw new Error(`sha256 ${got.sha256} differs from the manifest's ${helm.sha256}`);
      return 'sha256 matches';
    });
  }
  await check('objects', async () => {
    const onProgress = (p: { checked: number }) => options.onProgress?.({ objectsDone: p.checked, objectsTotal: manifest.objects.count, message: 'checking objects' });
    const split = await options.checkObjects?.(manifest, onProgress);
    let entries = 0;
    let result: VerifyPoolResult;
    if (split) {
      // The ranges read the inventory a slice each, which cannot check its checksum: that is read here, whole.
      const [inventory, checked] = await Promise.all([sha256Of(s3, store.bucket, manifest.objects.inventory.key, signal), split.check()]);
      if (inventory.sha256 !== manifest.objects.inventory.sha256) throw new Error(`the inventory's sha256 ${inventory.sha256} differs from the manifest's ${manifest.objects.inventory.sha256}`);
      result = checked;
      entries = checked.checked;
    } else {
      const counted = (async function* () {
        for await (const entry of readInventory({ s3, bucket: store.bucket, key: manifest.objects.inventory.key, expectedSha256: manifest.objects.inventory.sha256, ...(signal ? { signal } : {}) })) {
          entries += 1;
          yield entry;
        }
      })();
      result = await verifyInventoryObjects({ s3, store, entries: counted, ...(signal ? { signal } : {}), onProgress });
    }
    const problems: string[] = [];
    if (entries !== manifest.objects.count) problems.push(`the inventory has ${entries} entries, the manifest says ${manifest.objects.count}`);
    if (result.missingCount > 0) problems.push(`${result.missingCount} objects missing (first: ${result.missing.slice(0, 3).join(', ')})`);
    if (result.wrongSizeCount > 0) problems.push(`${result.wrongSizeCount} objects with the wrong size (first: ${result.wrongSize.slice(0, 3).join(', ')})`);
    if (problems.length > 0) throw new Error(problems.join('; '));
    return `all ${result.checked} inventory objects present with their sizes; inventory sha256 matches`;
  });
  return { backupId: manifest.id, verifiedAt: new Date().toISOString(), ok: checks.every((c) => c.ok), checks };
}
