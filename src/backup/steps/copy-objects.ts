import { backupFiles } from '../../catalog/backup-layout.js';
import { createInventoryWriter } from '../../object-store/inventory.js';
import { syncToPool, type SyncResult } from '../../object-store/sync-to-pool.js';
import type { Step, StepContext } from '../../runner/step.js';
import { formatBytes } from '../../format-units.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs, CopyCounts } from '../backup-outputs.js';

function counts(result: SyncResult): CopyCounts {
  const { listed, listedBytes, copied, copiedBytes, skipped, conflicts, durationMs } = result;
  return { listed, listedBytes, copied, copiedBytes, skipped, conflicts, durationMs };
}

function describeCopy(result: SyncResult): string {
  const rate = result.durationMs > 0 ? (result.copiedBytes / result.durationMs) * 1000 : 0;
  return `copied ${result.copied} of ${result.listed} objects (${formatBytes(result.copiedBytes)}${result.copied > 0 ? ` at ${formatBytes(rate)}/s` : ''}); ${result.skipped} already in the store${result.conflicts ? `; ${result.conflicts} kept beside a different object with the same key` : ''}`;
}

function sync(deps: BackupDeps, ctx: StepContext<BackupOutputs>, onObject?: Parameters<typeof syncToPool>[0]['onObject']) {
  return syncToPool({
    source: { s3: deps.clusterS3, store: deps.cluster.objectStore },
    target: { s3: deps.backupS3, store: deps.cluster.backupStore },
    concurrency: deps.cluster.backup.copyConcurrency,
    ...(deps.multipartThreshold ? { multipartThreshold: deps.multipartThreshold } : {}),
    signal: ctx.signal,
    onProgress: (p) => ctx.progress({ objectsDone: p.copied + p.skipped, objectsTotal: p.listed, bytesDone: p.copiedBytes, message: `${p.copied} copied, ${p.skipped} already stored` }),
    onWarning: (w) => ctx.log.warn({ warning: w }, 'object copy warning'),
    ...(onObject ? { onObject } : {}),
  });
}

/**
 * Copies, while the cluster still runs, every object of its bucket that the backup store's pool lacks — the
 * bulk of the data, so the pause only has to copy what arrived since. Content-addressed keys are never
 * overwritten, so what is copied now stays valid; an object deleted before the pause is a harmless orphan.
 */
export function preCopyObjects(deps: BackupDeps): Step<BackupOutputs> {
  return {
    name: 'pre-copy',
    title: 'Copy objects (cluster running)',
    description: `Copy the objects of s3://${deps.cluster.objectStore.bucket} missing from the backup store, while Pachyderm still runs.`,
    async run(ctx) {
      const result = await sync(deps, ctx);
      return { output: { preCopy: counts(result) }, sizes: { bytes: result.copiedBytes, objects: result.copied }, summary: describeCopy(result) };
    },
  };
}

/**
 * With the cluster paused: lists the bucket again, copies what is still missing (what arrived since the
 * pre-copy), and writes the inventory — every object at the pause with where its bytes are in the store — as
 * inventory.ndjson.gz. The inventory is kept only if every copy succeeded.
 */
export function copyDelta(deps: BackupDeps): Step<BackupOutputs> {
  const key = backupFiles.inventory(deps.cluster.backupStore, deps.cluster.name, deps.backupId);
  return {
    name: 'delta-copy',
    title: 'Copy new objects and write the inventory',
    description: 'List the paused cluster\'s bucket, copy what arrived since the pre-copy, and record every object in the inventory.',
    downtime: true,
    async run(ctx) {
      const inventory = createInventoryWriter({ s3: deps.backupS3, bucket: deps.cluster.backupStore.bucket, key, signal: ctx.signal });
      let result: SyncResult;
      try {
        result = await sync(deps, ctx, (entry) => inventory.add(entry));
      } catch (err) {
        await inventory.abort().catch(() => undefined);
        throw err;
      }
      const summary = await inventory.close();
      return {
        output: {
          delta: counts(result),
          inventory: { key, sha256: summary.sha256, bytes: summary.compressedBytes, objects: summary.objects, objectBytes: summary.bytes },
        },
        sizes: { bytes: result.copiedBytes, objects: result.copied },
        summary: `${describeCopy(result)}; inventory of ${summary.objects} objects (${formatBytes(summary.bytes)})`,
      };
    },
  };
}
