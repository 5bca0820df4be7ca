import { PachbackupError } from '../../errors.js';
import { recordPoolInUse, releasePoolInUse } from '../../retention/pool-in-use.js';
import type { Step } from '../../runner/step.js';
import type { RestoreDeps } from '../restore-deps.js';
import type { RestoreOutputs } from '../restore-outputs.js';

/**
 * For a restore that points the target at the backup pool where it is: records in the backup store that the
 * target now runs on it (`<prefix>/pool-in-use/<cluster>.json`), before anything depends on it, so that no pool
 * garbage collection — of this deployment or any other sharing the store — deletes the cluster's live chunks.
 * Undone (this restore's record removed) when the restore fails or is cancelled; kept when it succeeds, until an
 * operator runs `pachbackup release-pool --cluster <target>` once the cluster runs elsewhere.
 */
export function markPoolInUse(deps: RestoreDeps): Step<RestoreOutputs> {
  return {
    name: 'mark-pool-in-use',
    title: 'Record that the cluster runs on the backup pool',
    description: 'Record in the backup store that the target runs on its pool, so that pool garbage collection never deletes its chunks.',
    async run(ctx) {
      const plan = ctx.outputs.plan;
      if (!plan) throw new PachbackupError('internal', 'mark-pool-in-use needs the plan');
      const key = await recordPoolInUse(
        deps.backup.s3,
        deps.backup.store,
        { cluster: deps.target.name, restoreId: deps.restoreId, backupId: plan.backup.id, since: new Date().toISOString(), by: deps.requestedBy },
        ctx.signal,
      );
      return { output: {}, summary: `s3://${deps.backup.store.bucket}/${key}: retention deletes nothing from this pool while it is there` };
    },
    async undo() {
      await releasePoolInUse(deps.backup.s3, deps.backup.store, deps.target.name, { onlyRestore: deps.restoreId });
    },
  };
}
