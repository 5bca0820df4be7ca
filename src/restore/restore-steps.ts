import { pauseCluster, resumeCluster, type PauseDeps } from '../backup/steps/pause-cluster.js';
import type { Step } from '../runner/step.js';
import type { RestoreDeps } from './restore-deps.js';
import type { RestoreOutputs } from './restore-outputs.js';
import type { RestorePlan } from './restore-plan.js';
import { checkPlan } from './steps/check-plan.js';
import { copyDelta, copyObjects } from './steps/copy-objects.js';
import { markPoolInUse } from './steps/mark-pool-in-use.js';
import { storeHelmValues } from './steps/helm-values.js';
import { restoreDatabases, swapDatabases } from './steps/restore-databases.js';
import { verifyBeforeRestore } from './steps/verify-backup.js';

function pauseDeps(deps: RestoreDeps): PauseDeps {
  return { cluster: deps.target, workloads: deps.workloads };
}

/**
 * A restore, in order (DESIGN.md "Operations are steps"), arranged so the target is paused as briefly as
 * possible and is never left half-changed: everything that can happen beside the running cluster happens first
 * — the plan checked against the approval, the backup verified, the dumps restored into staging databases, the
 * objects copied (adding content-addressed objects changes nothing for a running cluster) — then, only when the
 * restore replaces state the target runs on, the pause (the backup's own step: replicas recorded durably, undo
 * resumes exactly them), a last copy of objects that went missing meanwhile, the swap of the databases, the Helm
 * values, and the resume (the backup's own step: pachd back at its replicas and checked ready). A failure before
 * the swap leaves the target exactly as it was and resumed.
 */
export function createRestoreSteps(deps: RestoreDeps, approved: RestorePlan): Step<RestoreOutputs>[] {
  const paused = approved.pause.needed;
  return [
    checkPlan(deps, approved),
    verifyBeforeRestore(deps),
    ...(approved.objects.mode === 'backup-pool' ? [markPoolInUse(deps)] : []),
    restoreDatabases(deps),
    ...(approved.objects.mode === 'copy' ? [copyObjects(deps)] : []),
    ...(paused ? [pauseCluster(pauseDeps(deps))] : []),
    ...(paused && approved.objects.mode === 'copy' && approved.objects.live ? [copyDelta(deps)] : []),
    { ...swapDatabases(deps), downtime: paused },
    { ...storeHelmValues(deps), downtime: paused },
    ...(paused ? [resumeCluster(pauseDeps(deps))] : []),
  ];
}

/**
 * The steps whose undo matters after a crash — what recovery runs in abort mode, without the plan: the staging
 * databases are dropped and the target resumed with its recorded replicas (both from their checkpoints). A record
 * that the target runs on the backup pool is left in place: it only keeps retention away from the pool, which is
 * the safe side (`pachbackup release-pool` removes it).
 */
export function createRestoreRecoverySteps(deps: RestoreDeps): Step<RestoreOutputs>[] {
  return [restoreDatabases(deps), pauseCluster(pauseDeps(deps)), resumeCluster(pauseDeps(deps))];
}
