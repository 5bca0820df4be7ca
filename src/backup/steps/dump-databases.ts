import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { backupFiles } from '../../catalog/backup-layout.js';
import type { ManifestDatabase } from '../../catalog/manifest.js';
import { formatBytes } from '../../format-units.js';
import { dumpDatabase } from '../../postgres/dump-database.js';
import { tableStats } from '../../postgres/server-info.js';
import type { Step } from '../../runner/step.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs } from '../backup-outputs.js';

/**
 * Dumps every configured database (pg_dump custom format, TLS as configured) straight into the backup store,
 * all at once, with each dump's sha256 computed on the way; counts every table's rows meanwhile (the database
 * is quiet: Pachyderm is paused) so restore drills can compare. Any dump failing fails the step, and the cluster
 * is resumed.
 */
export function dumpDatabases(deps: BackupDeps): Step<BackupOutputs> {
  const { cluster } = deps;
  return {
    name: 'dump-databases',
    title: 'Dump the databases',
    description: `pg_dump ${cluster.postgres.databases.join(' and ')} from ${cluster.postgres.host} (sslmode ${cluster.postgres.sslmode}) into the backup store.`,
    downtime: true,
    async run(ctx) {
      const done = new Map<string, number>();
      const report = () => ctx.progress({ bytesDone: [...done.values()].reduce((a, b) => a + b, 0), message: `${cluster.postgres.databases.length} databases` });
      const dumps = await Promise.all(
        cluster.postgres.databases.map(async (database): Promise<ManifestDatabase> => {
          const key = backupFiles.dump(cluster.backupStore, cluster.name, deps.backupId, database);
          // A retried run (its worker died mid-dump) may have left this run's own dump behind: the dump is taken
          // again now, while still paused, so replace it. Dumps of other backups are never touched.
          await deps.backupS3.send(new DeleteObjectCommand({ Bucket: cluster.backupStore.bucket, Key: key }), { abortSignal: ctx.signal });
          const [dump, tables] = await Promise.all([
            dumpDatabase({
              postgres: cluster.postgres,
              database,
              target: { s3: deps.backupS3, bucket: cluster.backupStore.bucket, key },
              signal: ctx.signal,
              ...(ctx.outputs.preflight?.pgDumpPath ? { pgDumpPath: ctx.outputs.preflight.pgDumpPath } : {}),
              onProgress: (p) => {
                done.set(database, p.bytes);
                report();
              },
            }),
            tableStats(cluster.postgres, database, { signal: ctx.signal }),
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
    },
  };
}
