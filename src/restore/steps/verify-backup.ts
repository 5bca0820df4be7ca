import { checkObjectsInRanges } from '../../backup/check-objects-in-ranges.js';
import { verifyBackup } from '../../backup/verify-backup.js';
import { createCatalog } from '../../catalog/catalog.js';
import { PachbackupError } from '../../errors.js';
import type { Step } from '../../runner/step.js';
import { readPlannedManifest } from '../read-backup.js';
import type { RestoreDeps } from '../restore-deps.js';
import type { RestoreOutputs } from '../restore-outputs.js';

/**
 * Verifies the backup now, before anything is touched: every dump's sha256 and `pg_restore --list`, the Helm
 * values' and inventory's checksums, every inventory object in the pool with its size. Records verify.json.
 * A failure ends the run as failed-validation: nothing was changed.
 */
export function verifyBeforeRestore(deps: RestoreDeps): Step<RestoreOutputs> {
  return {
    name: 'verify',
    title: 'Verify the backup',
    description: 'Re-read every dump (sha256, pg_restore --list) and check every inventory object is in the backup store.',
    validation: true,
    async run(ctx) {
      const plan = ctx.outputs.plan;
      if (!plan) throw new PachbackupError('internal', 'verify needs the plan');
      const manifest = await readPlannedManifest(deps.backup, plan.backup, ctx.signal);
      const storeOf = deps.backup.storeOf;
      const record = await verifyBackup({
        s3: deps.backup.s3,
        store: deps.backup.store,
        manifest,
        signal: ctx.signal,
        onProgress: ctx.progress,
        ...(deps.fanOut && storeOf
          ? { checkObjects: checkObjectsInRanges({ fanOut: deps.fanOut, runId: deps.restoreId, step: 'verify', storeOf, settings: deps.target.backup.fanOut, signal: ctx.signal }) }
          : {}),
      });
      await createCatalog(deps.backup.s3, deps.backup.store).writeVerification(deps.backup.cluster, record);
      const failed = record.checks.filter((c) => !c.ok);
      if (failed.length > 0) {
        throw new PachbackupError('integrity', `backup ${manifest.id} fails verification: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`, {
          hint: 'restore another backup',
        });
      }
      return { output: { verified: { verifiedAt: record.verifiedAt, checks: record.checks.length } }, summary: `${record.checks.length} checks passed` };
    },
  };
}
