import { PachbackupError } from '../../errors.js';
import type { Step } from '../../runner/step.js';
import type { RestoreDeps } from '../restore-deps.js';
import type { RestoreOutputs } from '../restore-outputs.js';
import { describePlanDifferences, planRestore, type RestorePlan } from '../restore-plan.js';

/**
 * Plans the approved request again, against the backup store and the target as they are now, and refuses —
 * before anything changes — when the fingerprint differs (the backup, a target, or what would be overwritten
 * changed since the approval: the approval is void) or when the plan has refusals. The backup's verification is
 * left to the next step. The re-computed plan is what the later steps follow; its warnings join the run's.
 */
export function checkPlan(deps: RestoreDeps, approved: RestorePlan): Step<RestoreOutputs> {
  return {
    name: 'check-plan',
    title: 'Check the approved plan',
    description: `Plan the restore of ${approved.backup.id} into ${approved.target.cluster} again and check it is the plan that was approved (fingerprint ${approved.fingerprint.slice(0, 12)}…).`,
    validation: true,
    async run(ctx) {
      const plan = await planRestore({ env: deps, request: approved.request, verification: 'skip', signal: ctx.signal });
      if (plan.fingerprint !== approved.fingerprint) {
        throw new PachbackupError('precondition', `the restore plan changed since it was approved: ${describePlanDifferences(approved, plan).join('; ')}`, {
          hint: 'plan the restore again and have the new plan approved',
        });
      }
      if (plan.refusals.length > 0) throw new PachbackupError('precondition', plan.refusals.join('; '));
      for (const warning of plan.warnings) ctx.warn(warning);
      return { output: { plan }, summary: `plan ${plan.fingerprint.slice(0, 12)}… unchanged${plan.inPlace ? '; restoring in place' : ''}` };
    },
  };
}
