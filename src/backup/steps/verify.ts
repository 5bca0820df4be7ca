import { PachbackupError } from '../../errors.js';
import type { Step } from '../../runner/step.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs } from '../backup-outputs.js';
import { checkObjectsInRanges } from '../check-objects-in-ranges.js';
import { verifyBackup } from '../verify-backup.js';

/**
 * Verifies the finished backup from the backup store alone, off the downtime path, and records the result as
 * verify.json beside the manifest. A failure leaves the backup listed but marks the run partially-failed.
 */
export function verify(deps: BackupDeps): Step<BackupOutputs> {
  return {
    name: 'verify',
    title: 'Verify the backup',
    description: 'Re-read every dump (sha256, pg_restore --list) and check every inventory object is in the store.',
    optional: true,
    async run(ctx) {
      const manifest = await deps.catalog.readManifest(deps.cluster.name, deps.backupId);
      if (!manifest) throw new PachbackupError('not-found', `no manifest for ${deps.backupId}`);
      const record = await verifyBackup({
        s3: deps.backupS3,
        store: deps.cluster.backupStore,
        manifest,
        signal: ctx.signal,
        onProgress: ctx.progress,
        ...(deps.fanOut
          ? { checkObjects: checkObjectsInRanges({ fanOut: deps.fanOut, runId: deps.backupId, step: 'verify', storeOf: deps.cluster.name, settings: deps.cluster.backup.fanOut, signal: ctx.signal }) }
          : {}),
      });
      await deps.catalog.writeVerification(deps.cluster.name, record);
      const failed = record.checks.filter((c) => !c.ok);
      if (failed.length > 0) throw new PachbackupError('integrity', failed.map((c) => `${c.name}: ${c.detail}`).join('; '));
      return { output: { verification: { ok: true } }, summary: `${record.checks.length} checks passed` };
    },
  };
}
