import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { backupFiles } from '../../catalog/backup-layout.js';
import type { DumpSource, ManifestDatabase } from '../../catalog/manifest.js';
import { PachbackupError } from '../../errors.js';
import { formatBytes } from '../../format-units.js';
import type { HeldSnapshot } from '../../postgres/database-snapshot.js';
import { dumpDatabase } from '../../postgres/dump-database.js';
import { tableStats } from '../../postgres/server-info.js';
import type { Step, StepContext, StepResult } from '../../runner/step.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs } from '../backup-outputs.js';

/**
 * Dumps every configured database (pg_dump custom format, TLS as configured) straight into the backup store, all
 * at once, each dump's sha256 computed on the way, and counts every table's rows meanwhile so restore drills can
 * compare. With `snapshots`, each dump and its counts are of the held snapshot (`pg_dump --snapshot`), whatever
 * Pachyderm does meanwhile; without, of the database as it is (Pachyderm must be paused).
 */
export async function dumpAll(
  deps: BackupDeps,
  ctx: StepContext<BackupOutputs>,
  source: { kind: DumpSource; snapshots?: readonly HeldSnapshot[]; fallbackReason?: string },
): Promise<StepResult<BackupOutputs>> {
  const { cluster } = deps;
  const done = new Map<string, number>();
  const report = () => ctx.progress({ bytesDone: [...done.values()].reduce((a, b) => a + b, 0), message: `${cluster.postgres.databases.length} databases` });
  const dumps = await Promise.all(
    cluster.postgres.databases.map(async (database): Promise<ManifestDatabase> => {
      const key = backupFiles.dump(cluster.backupStore, cluster.name, deps.backupId, database);
      const snapshot = source.snapshots?.find((s) => s.database === database);
      if (source.snapshots && !snapshot) throw new PachbackupError('internal', `no snapshot held for database "${database}"`);
      // A retried run (its worker died mid-dump) may have left this run's own dump behind: it is taken again now,
      // of the same moment, so replace it. Dumps of other backups are never touched.
      await deps.backupS3.send(new DeleteObjectCommand({ Bucket: cluster.backupStore.bucket, Key: key }), { abortSignal: ctx.signal });
      const [dump, tables] = await Promise.all([
        dumpDatabase({
          postgres: cluster.postgres,
          database,
          target: { s3: deps.backupS3, bucket: cluster.backupStore.bucket, key },
          signal: ctx.signal,
          ...(snapshot ? { snapshot: snapshot.id } : {}),
          ...(ctx.outputs.preflight?.pgDumpPath ? { pgDumpPath: ctx.outputs.preflight.pgDumpPath } : {}),
          onProgress: (p) => {
            done.set(database, p.bytes);
            report();
          },
        }),
        snapshot ? snapshot.countRows({ signal: ctx.signal }) : tableStats(cluster.postgres, database, { signal: ctx.signal }),
      ]);
      return {
        name: database,
        key: dump.key,
        bytes: dump.bytes,
        sha256: dump.sha256,
        format: dump.format,
        pgDumpVersion: dump.pgDumpVersion,
        serverVersion: dump.serverVersion,
        tables: tables.map((t) => ({ schema: t.schema, table: t.table, rows: t.rows })),
        source: source.kind,
        ...(source.fallbackReason ? { fallbackReason: source.fallbackReason } : {}),
      };
    }),
  );
  const bytes = dumps.reduce((n, d) => n + d.bytes, 0);
  const rows = dumps.reduce((n, d) => n + d.tables.reduce((m, t) => m + t.rows, 0), 0);
  return {
    output: { dumps },
    sizes: { bytes, rows },
    summary: dumps.map((d) => `${d.name} ${formatBytes(d.bytes)} (${d.tables.length} tables)`).join(', '),
  };
}

/** Releases the snapshots this process holds for the run (ends their transactions). Idempotent. */
export async function releaseSnapshots(deps: Pick<BackupDeps, 'session'>): Promise<void> {
  const held = deps.session.snapshots;
  deps.session.snapshots = undefined;
  await Promise.all((held ?? []).map((s) => s.release()));
}

/**
 * After the resume, with Pachyderm running again: dumps each database from the snapshot exported while it was
 * paused (`pg_dump --snapshot`), so the dump shows exactly the moment of the pause — the moment the inventory
 * lists — though Pachyderm writes meanwhile; the drill row counts come from the same snapshot. The exporting
 * transactions are held open until their dumps are done, then released. Done when every dump is stored with
 * its sha256 checked by size.
 *
 * When the snapshot step had to dump while paused instead, there is nothing left to do (the step is skipped).
 * A run picked up after its worker died cannot get the held snapshots back — a dump taken now would not match
 * the objects listed at the pause — so it fails, cleanly (no manifest), saying so. Any dump failing fails the
 * step: pg_dump of a snapshot can also fail when a table was dropped or altered after the pause (docs/development.md).
 */
export function dumpDatabases(deps: BackupDeps): Step<BackupOutputs> {
  const { cluster } = deps;
  return {
    name: 'dump-databases',
    title: 'Dump the databases',
    description: `pg_dump ${cluster.postgres.databases.join(' and ')} from ${cluster.postgres.host} (sslmode ${cluster.postgres.sslmode}) into the backup store, from the snapshot taken at the pause, while Pachyderm runs.`,
    async isDone(ctx) {
      const { snapshot, dumps } = ctx.outputs;
      if (snapshot?.source !== 'while-paused' || !dumps) return undefined;
      return { summary: `dumped while paused: ${dumps.map((d) => `${d.name} ${formatBytes(d.bytes)}`).join(', ')}` };
    },
    async run(ctx) {
      const snapshots = deps.session.snapshots;
      if (!snapshots) {
        throw new PachbackupError(
          'precondition',
          'the database snapshots exported at the pause were held by the worker that ran this backup until it stopped, and are gone; a dump taken now would not match the objects listed at the pause',
          { hint: 'start a new backup; this one has no manifest and retention removes its files' },
        );
      }
      try {
        return await dumpAll(deps, ctx, { kind: 'exported-snapshot', snapshots });
      } finally {
        await releaseSnapshots(deps);
      }
    },
  };
}
