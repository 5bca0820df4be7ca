import { describeError } from '../../errors.js';
import { exportSnapshots } from '../../postgres/database-snapshot.js';
import type { Step, StepContext } from '../../runner/step.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs } from '../backup-outputs.js';
import { dumpAll, releaseSnapshots } from './dump-databases.js';

/**
 * While Pachyderm is paused — nothing writes to its databases — freezes each database at this moment: exports a
 * snapshot per database (a REPEATABLE READ transaction and `pg_export_snapshot()`, a few milliseconds) and holds
 * it in this process for the dumps after the resume, so pg_dump's minutes leave the outage. Done when every
 * database has a held snapshot.
 *
 * Where the path to PostgreSQL cannot do that (preflight's probe, or the export itself, failed: a transaction-mode
 * pooler, a missing privilege, an old server), it dumps the databases right here, while still paused — correct,
 * only longer — warns on the run saying why, and the manifest records `while-paused` with the reason.
 * Undo: releases the held snapshots.
 */
export function snapshotDatabases(deps: BackupDeps): Step<BackupOutputs> {
  const { databases } = deps.cluster.postgres;
  return {
    name: 'snapshot',
    title: 'Snapshot the databases',
    description: `Export a snapshot of ${databases.join(' and ')} while Pachyderm is paused, held for the dumps after the resume (or, where that cannot work, dump them now).`,
    downtime: true,
    async run(ctx) {
      const at = new Date().toISOString();
      const path = ctx.outputs.preflight?.snapshotPath;
      let reason = path === undefined ? 'preflight did not check the path to PostgreSQL' : path.usable ? undefined : path.reason;
      if (reason === undefined) {
        try {
          await holdSnapshots(deps);
          const held = deps.session.snapshots ?? [];
          return {
            output: { snapshot: { source: 'exported-snapshot', at, ids: Object.fromEntries(held.map((s) => [s.database, s.id])) } },
            summary: `exported a snapshot of ${databases.join(' and ')}, held for the dumps after the resume`,
          };
        } catch (err) {
          reason = describeError(err);
        }
      }
      ctx.warn(`the databases were dumped while Pachyderm was paused, which lengthened the outage: ${reason}`);
      const dumped = await dumpAll(deps, ctx, { kind: 'while-paused', fallbackReason: reason });
      return {
        ...dumped,
        output: { ...dumped.output, snapshot: { source: 'while-paused', at, fallbackReason: reason } },
        summary: `no snapshot (${reason}); dumped while paused: ${dumped.summary}`,
      };
    },
    async undo() {
      await releaseSnapshots(deps);
    },
  };
}

/** Exports and holds a snapshot of every database, replacing (and releasing) any this process still holds. */
async function holdSnapshots(deps: BackupDeps): Promise<void> {
  await releaseSnapshots(deps);
  deps.session.snapshots = await exportSnapshots(deps.cluster.postgres, deps.cluster.postgres.databases);
}

/**
 * Before the resume: a run picked up after its worker died while Pachyderm was still paused exports the
 * snapshots again — nothing has written since the pause, so it is the same moment — instead of resuming
 * without them and failing at the dumps.
 */
export async function holdSnapshotsIfLost(deps: BackupDeps, ctx: StepContext<BackupOutputs>): Promise<void> {
  if (ctx.outputs.snapshot?.source !== 'exported-snapshot' || deps.session.snapshots) return;
  ctx.log.warn('the snapshots exported at the pause were lost with the worker that held them; exporting them again while still paused');
  await holdSnapshots(deps);
}
