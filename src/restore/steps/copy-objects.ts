import { PachbackupError } from '../../errors.js';
import { describeSplit, type FanOutResult } from '../../fan-out/fan-out.js';
import { planRanges } from '../../fan-out/plan-ranges.js';
import { formatBytes } from '../../format-units.js';
import { readInventory } from '../../object-store/inventory.js';
import type { Step, StepContext } from '../../runner/step.js';
import { copyInventoryObjects, describeStore, ensureBucket, type InventoryCopyCounts } from '../inventory-objects.js';
import { readPlannedManifest } from '../read-backup.js';
import type { RestoreDeps } from '../restore-deps.js';
import type { RestoreOutputs } from '../restore-outputs.js';
import { objectTargetStore } from '../restore-plan.js';

async function copyAll(deps: RestoreDeps, ctx: StepContext<RestoreOutputs>, step: { name: string; local?: boolean }): Promise<{ counts: InventoryCopyCounts; created: boolean; where: string; split?: FanOutResult<'inventory-copy'> }> {
  const plan = ctx.outputs.plan;
  if (!plan) throw new PachbackupError('internal', 'copying objects needs the plan');
  const started = performance.now();
  const manifest = await readPlannedManifest(deps.backup, plan.backup, ctx.signal);
  const store = objectTargetStore(plan.request, deps);
  const s3 = deps.objectStoreClient(store);
  const created = await ensureBucket(s3, store.bucket, ctx.signal);
  const total = manifest.objects.count;
  const fanOut = deps.fanOut;
  const storeOf = deps.backup.storeOf;
  const ranges = fanOut && storeOf ? planRanges(total, deps.target.backup.fanOut, await fanOut.capacity(step.local ? { local: true } : {})) : undefined;
  if (fanOut && storeOf && ranges) {
    const split = await fanOut.run({
      runId: deps.restoreId,
      step: step.name,
      work: {
        kind: 'inventory-copy',
        backup: { cluster: storeOf, role: 'backup' },
        inventory: { key: manifest.objects.inventory.key },
        target: { cluster: deps.target.name, role: 'objects', bucket: store.bucket, prefix: store.prefix, ...(store.endpoint ? { endpoint: store.endpoint } : {}) },
        overwrite: plan.request.overwrite,
      },
      ranges,
      signal: ctx.signal,
      ...(step.local ? { local: true } : {}),
      onProgress: ({ totals, rangesDone, where }) =>
        ctx.progress({
          objectsDone: totals?.objects ?? 0,
          objectsTotal: total,
          bytesDone: totals?.copiedBytes ?? 0,
          message: `${totals?.copied ?? 0} copied, ${totals?.skipped ?? 0} already there; ${rangesDone} of ${ranges.length} key ranges done${where === 'workers' ? ' by the workers' : ' in this process'}`,
        }),
    });
    return { counts: { ...split.totals, durationMs: Math.round(performance.now() - started) }, created, where: describeStore(store), split };
  }
  const counts = await copyInventoryObjects({
    source: { s3: deps.backup.s3, store: deps.backup.store },
    target: { s3, store },
    entries: readInventory({ s3: deps.backup.s3, bucket: deps.backup.store.bucket, key: manifest.objects.inventory.key, expectedSha256: manifest.objects.inventory.sha256, signal: ctx.signal }),
    overwrite: plan.request.overwrite,
    concurrency: deps.target.backup.copyConcurrency,
    ...(deps.multipartThreshold ? { multipartThreshold: deps.multipartThreshold } : {}),
    signal: ctx.signal,
    onProgress: (p) => ctx.progress({ objectsDone: p.seen, objectsTotal: total, bytesDone: p.copiedBytes, message: `${p.copied} copied, ${p.skipped} already there` }),
  });
  return { counts, created, where: describeStore(store) };
}

function describe(counts: InventoryCopyCounts, where: string, created: boolean, split?: FanOutResult<'inventory-copy'>): string {
  const ranges = split ? describeSplit(split) : '';
  return `${created ? 'created the bucket; ' : ''}copied ${counts.copied} of ${counts.objects} objects (${formatBytes(counts.copiedBytes)}) into ${where}; ${counts.skipped} already there${counts.replaced ? `; ${counts.replaced} replaced` : ''}${ranges}`;
}

/**
 * Copies every object of the backup's inventory from the backup store into the target bucket (created if
 * missing), at the keys Pachyderm wrote them under — server-side where both are one service, in parallel, only
 * what the target lacks (an object there with the same size is kept). Before any pause: adding
 * content-addressed objects changes nothing for a running cluster. Re-running copies only what is missing.
 */
export function copyObjects(deps: RestoreDeps): Step<RestoreOutputs> {
  return {
    name: 'copy-objects',
    title: 'Copy the objects',
    description: 'Copy the inventory\'s objects from the backup store into the target bucket, skipping those already there.',
    async run(ctx) {
      const { counts, created, where, split } = await copyAll(deps, ctx, { name: 'copy-objects' });
      return { output: { objectCopy: counts }, sizes: { bytes: counts.copiedBytes, objects: counts.copied }, summary: describe(counts, where, created, split) };
    },
  };
}

/**
 * With the target paused, checks the inventory against its bucket once more and copies whatever is missing:
 * while it ran, the cluster's garbage collection may have deleted a chunk the restored databases need.
 */
export function copyDelta(deps: RestoreDeps): Step<RestoreOutputs> {
  return {
    name: 'copy-delta',
    title: 'Copy objects still missing (paused)',
    description: 'List the paused cluster\'s bucket again and copy any inventory object that went missing meanwhile.',
    downtime: true,
    async run(ctx) {
      // Paused: its ranges run here, side by side, never waiting for a queue.
      const { counts, where, split } = await copyAll(deps, ctx, { name: 'copy-delta', local: true });
      return { output: { objectDelta: counts }, sizes: { bytes: counts.copiedBytes, objects: counts.copied }, summary: describe(counts, where, false, split) };
    },
  };
}
