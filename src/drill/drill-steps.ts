import { storePath } from '../catalog/backup-layout.js';
import type { Catalog } from '../catalog/catalog.js';
import type { BackupManifest } from '../catalog/manifest.js';
import type { ClusterConfig, ObjectStoreConfig } from '../config/config.js';
import { verifyBackup } from '../backup/verify-backup.js';
import { describeError, PachbackupError } from '../errors.js';
import { formatBytes } from '../format-units.js';
import { readInventory } from '../object-store/inventory.js';
import { storeKeyPrefix } from '../object-store/pool-keys.js';
import { restoreDatabase } from '../postgres/restore-database.js';
import { tableStats } from '../postgres/server-info.js';
import type { Step, StepContext } from '../runner/step.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';
import { checkInventoryLanded, copyInventoryObjects, deleteObjectsUnder, firstObjectUnder, type InventoryCopyCounts } from '../restore/inventory-objects.js';
import { shortIdOf } from '../restore/operation-id.js';
import { readBackupManifest, type BackupLocation } from '../restore/read-backup.js';
import { rowMismatches } from '../restore/steps/restore-databases.js';
import { suffixedName } from '../restore/target-databases.js';
import { createScratchDatabase, dropScratchDatabase, scratchDatabasesLeft } from './scratch-databases.js';

/** One finding of a drill. */
export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** Everything a drill works with, built by a composition root (see `drillDepsFor`). */
export interface DrillDeps {
  drillId: string;
  /** The cluster whose backup is drilled: scratch databases go on its PostgreSQL server. */
  cluster: ClusterConfig;
  /** Its backup store; the scratch objects go under `<prefix>/drills/<drill-id>/objects/` there. */
  backup: BackupLocation;
  catalog: Catalog;
  runs: RunStore;
  /** Where the cluster's drill lock is taken (one drill per cluster at a time; see `drillLockName`). */
  locks: ClusterLocks;
  requestedBy: string;
  /** The backup to drill; default the newest complete one. */
  backupId?: string;
  pgBinDir?: string;
  multipartThreshold?: number;
}

/**
 * The name of a cluster's drill lock, beside its operation lock (`ClusterLocks`): one drill per cluster at a time —
 * several would restore the same dumps into the same server at once for nothing — while a drill never holds back a
 * backup or restore (it does not touch the cluster).
 */
export function drillLockName(cluster: string): string {
  return `drill:${cluster}`;
}

/**
 * Where a drill's scratch lives — named after the drill (its id's random tail in the database names, the whole id in
 * the prefix) and derived from the drill id and the backup alone, so it can always be found; only what the drill
 * created is removed (see scratch-databases).
 */
export interface DrillScratch {
  databases: { source: string; scratch: string }[];
  /** The scratch store: the backup store's bucket under `<prefix>/drills/<drill-id>/objects`. */
  store: ObjectStoreConfig;
  /** Its key prefix, ending in '/'. */
  prefix: string;
}

export function drillScratch(deps: Pick<DrillDeps, 'drillId' | 'backup'>, manifest: Pick<BackupManifest, 'databases'>): DrillScratch {
  const short = shortIdOf(deps.drillId);
  const store = { ...deps.backup.store, prefix: storePath(deps.backup.store, 'drills', deps.drillId, 'objects') };
  return {
    databases: manifest.databases.map((d) => ({ source: d.name, scratch: suffixedName(d.name, `_drill_${short}`) })),
    store,
    prefix: storeKeyPrefix(store),
  };
}

/** Drops the scratch databases this drill created (none other) and deletes the scratch objects; idempotent. */
export async function removeScratch(deps: Pick<DrillDeps, 'drillId' | 'cluster' | 'backup'>, scratch: DrillScratch, signal?: AbortSignal): Promise<{ databases: number; objects: number }> {
  let databases = 0;
  for (const d of scratch.databases) if (await dropScratchDatabase(deps.cluster.postgres, d.scratch, deps.drillId, signal)) databases += 1;
  const objects = await deleteObjectsUnder(deps.backup.s3, deps.backup.store.bucket, scratch.prefix, signal);
  return { databases, objects };
}

/** Whether anything of the scratch is left: this drill's databases still there and a key still under the prefix. */
export async function scratchLeft(deps: Pick<DrillDeps, 'drillId' | 'cluster' | 'backup'>, scratch: DrillScratch): Promise<string[]> {
  const left = (await scratchDatabasesLeft(deps.cluster.postgres, scratch.databases.map((d) => d.scratch), deps.drillId)).map((name) => `database ${name}`);
  const first = await firstObjectUnder(deps.backup.s3, scratch.store);
  if (first) left.push(`objects under s3://${scratch.store.bucket}/${scratch.prefix} (e.g. ${first.key})`);
  return left;
}

/** What each drill step hands to the ones after it. */
export interface DrillOutputs {
  startedAt: string;
  selected: { backupId: string; completedAt: string; databases: number; objects: number };
  verifyChecks: DrillCheck[];
  scratchCreated: { databases: string[] };
  restoreChecks: DrillCheck[];
  objectCopy: { ok: boolean; counts?: InventoryCopyCounts; check: DrillCheck };
  tableChecks: DrillCheck[];
  objectChecks: DrillCheck[];
  cleanup: { databases: number; objects: number; check: DrillCheck };
}


const summarize = (checks: DrillCheck[]) => `${checks.filter((c) => c.ok).length}/${checks.length} checks passed`;

/**
 * A restore drill, in order: pick the backup; verify it from the store; create scratch databases
 * (`<name>_drill_<id>` on the cluster's server); restore every dump into them; copy every inventory object into a
 * scratch prefix of the backup store; compare every table's row count with the count recorded at backup time;
 * check every inventory object landed with its size; remove the scratch; and end failed when any check failed.
 * Checks record what they find rather than stopping the drill, so one drill reports every problem. Nothing of
 * the cluster is touched: no pause, no approval. The scratch step's undo removes the scratch when a later step
 * fails or the drill is cancelled; the cleanup step does it on the way to the verdict.
 */
export function createDrillSteps(deps: DrillDeps): Step<DrillOutputs>[] {
  const pg = deps.cluster.postgres;
  // The drilled backup's manifest, read once for all the steps (again only after a restart).
  const manifests = new Map<string, BackupManifest>();
  const manifestOf = async (id: string, signal?: AbortSignal): Promise<BackupManifest> => {
    const known = manifests.get(id);
    if (known) return known;
    const { manifest } = await readBackupManifest(deps.backup, id, signal);
    manifests.set(id, manifest);
    return manifest;
  };
  /** The selected backup's manifest and where its scratch is. */
  const selection = async (ctx: StepContext<DrillOutputs>): Promise<{ manifest: BackupManifest; scratch: DrillScratch }> => {
    const id = ctx.outputs.selected?.backupId;
    if (!id) throw new PachbackupError('internal', 'the drill has no selected backup');
    const manifest = await manifestOf(id, ctx.signal);
    return { manifest, scratch: drillScratch(deps, manifest) };
  };
  return [
    {
      name: 'select',
      title: 'Pick the backup',
      description: deps.backupId ? `Read the manifest of ${deps.backupId}.` : `Pick the newest complete backup of ${deps.cluster.name}.`,
      validation: true,
      async run(ctx) {
        let manifest: BackupManifest;
        if (deps.backupId) manifest = await manifestOf(deps.backupId, ctx.signal);
        else {
          const newest = (await deps.catalog.list(deps.backup.cluster)).backups[0];
          if (!newest) throw new PachbackupError('not-found', `no complete backup of ${deps.backup.cluster} to drill`, { hint: 'take a backup first' });
          manifest = newest.manifest;
          manifests.set(manifest.id, manifest);
        }
        return {
          output: { selected: { backupId: manifest.id, completedAt: manifest.completedAt, databases: manifest.databases.length, objects: manifest.objects.count } },
          summary: `${manifest.id} (${manifest.completedAt}): ${manifest.databases.length} databases, ${manifest.objects.count} objects`,
        };
      },
    },
    {
      name: 'verify',
      title: 'Verify the backup',
      description: 'Re-read every dump (sha256, pg_restore --list) and check every inventory object is in the store; record verify.json.',
      async run(ctx) {
        const { manifest } = await selection(ctx);
        const record = await verifyBackup({ s3: deps.backup.s3, store: deps.backup.store, manifest, signal: ctx.signal, onProgress: ctx.progress });
        await deps.catalog.writeVerification(deps.backup.cluster, record);
        const checks = record.checks.map((c) => ({ name: `backup: ${c.name}`, ok: c.ok, detail: c.detail }));
        return { output: { verifyChecks: checks }, summary: summarize(checks) };
      },
    },
    {
      name: 'scratch',
      title: 'Create scratch databases',
      description: `Create empty scratch databases named after the drill on ${pg.host}:${pg.port} (removed at the end, whatever happens; a database of that name the drill did not create is never used or dropped).`,
      async run(ctx) {
        const { manifest, scratch } = await selection(ctx);
        // Recorded before anything is created: the undo finds the scratch by it even if this step dies half-way.
        const created: string[] = [];
        for (const d of scratch.databases) {
          await ctx.saveCheckpoint({ backupId: manifest.id, creating: d.scratch, created });
          await createScratchDatabase(pg, d.scratch, deps.drillId, ctx.signal);
          created.push(d.scratch);
        }
        await ctx.saveCheckpoint({ backupId: manifest.id, created });
        return { output: { scratchCreated: { databases: created } }, summary: created.join(', ') };
      },
      async undo(ctx) {
        const id = ctx.outputs.selected?.backupId ?? ctx.checkpoint<{ backupId: string }>()?.backupId;
        if (!id) return;
        await removeScratch(deps, drillScratch(deps, await manifestOf(id)));
      },
    },
    {
      name: 'restore-databases',
      title: 'Restore the dumps',
      description: 'pg_restore every dump into its scratch database, checking its sha256 first.',
      async run(ctx) {
        const { manifest, scratch } = await selection(ctx);
        const checks = await Promise.all(
          manifest.databases.map(async (db): Promise<DrillCheck> => {
            const target = scratch.databases.find((d) => d.source === db.name)!.scratch;
            try {
              const restored = await restoreDatabase({
                postgres: pg,
                database: target,
                source: { s3: deps.backup.s3, bucket: deps.backup.store.bucket, key: db.key },
                expectedSha256: db.sha256,
                signal: ctx.signal,
                ...(deps.pgBinDir ? { pgRestorePath: `${deps.pgBinDir}/pg_restore` } : {}),
              });
              return { name: `restore ${db.name}`, ok: true, detail: `${formatBytes(restored.bytes)} restored into ${target} (sha256 matches)` };
            } catch (err) {
              if (ctx.signal.aborted) throw err;
              return { name: `restore ${db.name}`, ok: false, detail: describeError(err) };
            }
          }),
        );
        return { output: { restoreChecks: checks }, summary: summarize(checks) };
      },
    },
    {
      name: 'copy-objects',
      title: 'Copy the objects',
      description: 'Copy every inventory object from the pool into a scratch prefix of the backup store.',
      async run(ctx) {
        const { manifest, scratch } = await selection(ctx);
        try {
          const counts = await copyInventoryObjects({
            source: { s3: deps.backup.s3, store: deps.backup.store },
            target: { s3: deps.backup.s3, store: scratch.store },
            entries: readInventory({ s3: deps.backup.s3, bucket: deps.backup.store.bucket, key: manifest.objects.inventory.key, expectedSha256: manifest.objects.inventory.sha256, signal: ctx.signal }),
            overwrite: true,
            concurrency: deps.cluster.backup.copyConcurrency,
            ...(deps.multipartThreshold ? { multipartThreshold: deps.multipartThreshold } : {}),
            signal: ctx.signal,
            onProgress: (p) => ctx.progress({ objectsDone: p.seen, objectsTotal: manifest.objects.count, bytesDone: p.copiedBytes }),
          });
          const check = { name: 'copy objects', ok: true, detail: `${counts.copied} objects (${formatBytes(counts.copiedBytes)}) copied to s3://${scratch.store.bucket}/${scratch.prefix}` };
          return { output: { objectCopy: { ok: true, counts, check } }, sizes: { bytes: counts.copiedBytes, objects: counts.copied }, summary: check.detail };
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          const check = { name: 'copy objects', ok: false, detail: describeError(err) };
          return { output: { objectCopy: { ok: false, check } }, summary: `failed: ${check.detail}` };
        }
      },
    },
    {
      name: 'compare-tables',
      title: 'Compare row counts',
      description: 'Count every restored table\'s rows and compare them with the counts recorded at backup time.',
      async run(ctx) {
        const { manifest, scratch } = await selection(ctx);
        const restored = new Set((ctx.outputs.restoreChecks ?? []).filter((c) => c.ok).map((c) => c.name.replace(/^restore /, '')));
        const checks: DrillCheck[] = [];
        for (const db of manifest.databases) {
          if (!restored.has(db.name)) continue; // its restore failed: already reported
          const target = scratch.databases.find((d) => d.source === db.name)!.scratch;
          const mismatches = rowMismatches(db.tables, await tableStats(pg, target, { signal: ctx.signal }));
          const rows = db.tables.reduce((n, t) => n + t.rows, 0);
          checks.push({
            name: `rows of ${db.name}`,
            ok: mismatches.length === 0,
            detail: mismatches.length === 0 ? `all ${db.tables.length} tables have the ${rows} rows recorded at backup time` : `${mismatches.length} tables differ: ${mismatches.slice(0, 10).join('; ')}${mismatches.length > 10 ? '; …' : ''}`,
          });
        }
        return { output: { tableChecks: checks }, summary: summarize(checks) };
      },
    },
    {
      name: 'check-objects',
      title: 'Check the objects landed',
      description: 'Check every inventory object is in the scratch prefix with its size.',
      async run(ctx) {
        if (!ctx.outputs.objectCopy?.ok) return { output: { objectChecks: [] }, summary: 'skipped: the copy failed' };
        const { manifest, scratch } = await selection(ctx);
        const landed = await checkInventoryLanded({
          target: { s3: deps.backup.s3, store: scratch.store },
          entries: readInventory({ s3: deps.backup.s3, bucket: deps.backup.store.bucket, key: manifest.objects.inventory.key, expectedSha256: manifest.objects.inventory.sha256, signal: ctx.signal }),
          signal: ctx.signal,
        });
        const problems = [
          ...(landed.checked !== manifest.objects.count ? [`the inventory has ${landed.checked} entries, the manifest says ${manifest.objects.count}`] : []),
          ...(landed.missingCount ? [`${landed.missingCount} missing (first: ${landed.missing.slice(0, 3).join(', ')})`] : []),
          ...(landed.wrongSizeCount ? [`${landed.wrongSizeCount} with the wrong size (first: ${landed.wrongSize.slice(0, 3).join(', ')})`] : []),
        ];
        const checks = [{ name: 'objects landed', ok: problems.length === 0, detail: problems.length === 0 ? `all ${landed.checked} inventory objects at their keys with their sizes` : problems.join('; ') }];
        return { output: { objectChecks: checks }, summary: summarize(checks) };
      },
    },
    {
      name: 'cleanup',
      title: 'Remove the scratch',
      description: 'Drop the scratch databases and delete the scratch objects.',
      compensates: 'scratch',
      async run(ctx) {
        const { scratch } = await selection(ctx);
        const removed = await removeScratch(deps, scratch, ctx.signal);
        const left = await scratchLeft(deps, scratch);
        const check = { name: 'scratch removed', ok: left.length === 0, detail: left.length === 0 ? `dropped ${removed.databases} databases, deleted ${removed.objects} objects` : `still there: ${left.join('; ')}` };
        return { output: { cleanup: { ...removed, check } }, summary: check.detail };
      },
    },
    {
      name: 'verdict',
      title: 'Verdict',
      description: 'Fail the drill when any check failed.',
      async run(ctx) {
        const failed = collectChecks(ctx.outputs).filter((c) => !c.ok);
        if (failed.length > 0) throw new PachbackupError('integrity', `${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
        return { summary: 'every check passed' };
      },
    },
  ];
}

/** Every check of a drill's outputs, in order. */
export function collectChecks(o: Partial<DrillOutputs>): DrillCheck[] {
  return [...(o.verifyChecks ?? []), ...(o.restoreChecks ?? []), ...(o.objectCopy ? [o.objectCopy.check] : []), ...(o.tableChecks ?? []), ...(o.objectChecks ?? []), ...(o.cleanup ? [o.cleanup.check] : [])];
}
