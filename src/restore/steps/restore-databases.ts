import { createDatabase } from '../../postgres/create-database.js';
import { restoreDatabase } from '../../postgres/restore-database.js';
import { tableStats } from '../../postgres/server-info.js';
import { PachbackupError } from '../../errors.js';
import { formatBytes } from '../../format-units.js';
import type { Step } from '../../runner/step.js';
import { shortIdOf } from '../operation-id.js';
import { readPlannedManifest } from '../read-backup.js';
import type { RestoreDeps } from '../restore-deps.js';
import type { RestoredDatabase, RestoreOutputs } from '../restore-outputs.js';
import { dropDatabaseIfExists, inspectDatabases, replaceDatabase, suffixedName } from '../target-databases.js';

type Work = Pick<RestoredDatabase, 'source' | 'target' | 'staging' | 'existed'>;

/** Row counts of the restored tables against those recorded at backup time (with the cluster paused). */
export function rowMismatches(recorded: { schema: string; table: string; rows: number }[], restored: { schema: string; table: string; rows: number }[]): string[] {
  const got = new Map(restored.map((t) => [`${t.schema}.${t.table}`, t.rows]));
  const out: string[] = [];
  for (const t of recorded) {
    const name = `${t.schema}.${t.table}`;
    const rows = got.get(name);
    if (rows === undefined) out.push(`${name}: missing (${t.rows} rows at backup time)`);
    else if (rows !== t.rows) out.push(`${name}: ${rows} rows, ${t.rows} at backup time`);
    got.delete(name);
  }
  for (const [name, rows] of got) out.push(`${name}: not in the backup's record (${rows} rows)`);
  return out;
}

/**
 * Restores every dump, all at once, each into a staging database of its own (`<target>_restoring_<id>`) on the
 * target server — never straight into the target, so a failure (a damaged download, pg_restore stopping half-way)
 * leaves the target databases exactly as they were. The dump's sha256 is checked before pg_restore starts.
 * Then counts every restored table's rows and compares them with the counts recorded at backup time (a
 * difference is a warning here; drills treat it as a failure). Needs no pause: nothing the cluster uses changes.
 * Undo: drops the staging databases — or, found after a crash between the swap's DROP and RENAME, completes
 * the swap (the replaced database is gone; the restored one is the only copy left).
 */
export function restoreDatabases(deps: RestoreDeps): Step<RestoreOutputs> {
  const pg = deps.target.postgres;
  return {
    name: 'restore-databases',
    title: 'Restore the databases',
    description: `pg_restore each dump into a staging database on ${pg.host}:${pg.port}, checking its sha256 first.`,
    async run(ctx) {
      const plan = ctx.outputs.plan;
      if (!plan) throw new PachbackupError('internal', 'restore-databases needs the plan');
      const manifest = await readPlannedManifest(deps.backup, plan.backup, ctx.signal);
      const short = shortIdOf(deps.restoreId);
      const work: Work[] = ctx.checkpoint<Work[]>() ?? plan.databases.map((d) => ({ source: d.source, target: d.target, staging: suffixedName(d.target, `_restoring_${short}`), existed: d.exists }));
      // Durable before anything is created: the undo, and a recovery after a crash, drop exactly these.
      await ctx.saveCheckpoint(work);
      const downloaded = new Map<string, number>();
      const restored = await Promise.all(
        work.map(async (w): Promise<RestoredDatabase> => {
          const dump = manifest.databases.find((d) => d.name === w.source);
          if (!dump) throw new PachbackupError('integrity', `the manifest of ${manifest.id} has no database "${w.source}"`);
          // The staging name is this run's own: a partial one left by an earlier attempt is replaced.
          await createDatabase(pg, w.staging, { overwrite: true, signal: ctx.signal });
          await restoreDatabase({
            postgres: pg,
            database: w.staging,
            source: { s3: deps.backup.s3, bucket: deps.backup.store.bucket, key: dump.key },
            expectedSha256: dump.sha256,
            signal: ctx.signal,
            ...(deps.pgBinDir ? { pgRestorePath: `${deps.pgBinDir}/pg_restore` } : {}),
            onProgress: (p) => {
              if (p.phase === 'download') downloaded.set(w.source, p.bytes);
              ctx.progress({ bytesDone: [...downloaded.values()].reduce((a, b) => a + b, 0), message: p.phase === 'restore' ? `${w.target}: item ${p.itemsDone}${p.itemsTotal ? `/${p.itemsTotal}` : ''}` : `downloading ${w.source}` });
            },
          });
          const stats = await tableStats(pg, w.staging, { signal: ctx.signal });
          const mismatches = rowMismatches(dump.tables, stats);
          for (const m of mismatches) ctx.warn(`database ${w.target}: ${m}`);
          return { ...w, bytes: dump.bytes, tables: stats.length, rows: stats.reduce((n, t) => n + t.rows, 0), mismatches };
        }),
      );
      const rows = restored.reduce((n, d) => n + d.rows, 0);
      return {
        output: { restoredDatabases: restored },
        sizes: { bytes: restored.reduce((n, d) => n + d.bytes, 0), rows },
        summary: restored.map((d) => `${d.source} → ${d.target}: ${d.tables} tables, ${d.rows} rows (${formatBytes(d.bytes)})`).join('; '),
      };
    },
    async undo(ctx) {
      const work = ctx.checkpoint<Work[]>();
      if (!work) return;
      const states = await inspectDatabases(pg, work.flatMap((w) => [w.staging, w.target]));
      const exists = (name: string) => states.find((s) => s.name === name)?.exists === true;
      for (const w of work) {
        if (!exists(w.staging)) continue;
        if (w.existed && !exists(w.target)) {
          await replaceDatabase(pg, w.staging, w.target);
          ctx.warn(`database ${w.target} had been dropped by an interrupted swap; the restored copy was put in its place`);
        } else {
          await dropDatabaseIfExists(pg, w.staging);
        }
      }
    },
  };
}

/**
 * Puts each restored database in place: drops the target if it exists (only ever an empty one, or a non-empty
 * one the approved plan says is overwritten — its sessions are ended) and renames the staging database to the
 * target name, one database after the other. When the target is what the cluster runs on, this runs paused.
 * Done when no staging database is left and every target exists.
 */
export function swapDatabases(deps: RestoreDeps): Step<RestoreOutputs> {
  const pg = deps.target.postgres;
  return {
    name: 'swap-databases',
    title: 'Put the restored databases in place',
    description: `Rename each staging database to its target name on ${pg.host}:${pg.port}, replacing what the plan says it replaces.`,
    async isDone(ctx) {
      const work = ctx.outputs.restoredDatabases;
      if (!work) return undefined;
      const states = await inspectDatabases(pg, work.flatMap((w) => [w.staging, w.target]), ctx.signal);
      const exists = (name: string) => states.find((s) => s.name === name)?.exists === true;
      if (work.every((w) => !exists(w.staging) && exists(w.target))) {
        return { output: { swap: { databases: work.map((w) => ({ target: w.target, replaced: w.existed })) } }, summary: 'already in place' };
      }
      return undefined;
    },
    async run(ctx) {
      const work = ctx.outputs.restoredDatabases;
      if (!work) throw new PachbackupError('internal', 'swap-databases needs the restored databases');
      const overwrite = ctx.outputs.plan?.request.overwrite === true;
      const targets = await inspectDatabases(pg, work.map((w) => w.target), ctx.signal);
      for (const t of targets) {
        if (t.objects > 0 && !overwrite) {
          throw new PachbackupError('conflict', `database "${t.name}" on ${pg.host}:${pg.port} is no longer empty (${t.objects} objects); the approved plan does not overwrite it`, {
            hint: 'plan the restore again',
          });
        }
      }
      const done: { target: string; replaced: boolean }[] = [];
      for (const w of work) {
        const { replaced } = await replaceDatabase(pg, w.staging, w.target, ctx.signal);
        done.push({ target: w.target, replaced });
      }
      return { output: { swap: { databases: done } }, summary: done.map((d) => `${d.target}${d.replaced ? ' (replaced)' : ''}`).join(', ') };
    },
  };
}
