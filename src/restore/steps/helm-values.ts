import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PachbackupError } from '../../errors.js';
import type { Step } from '../../runner/step.js';
import { PACHBACKUP_VERSION } from '../../version.js';
import { readBackupHelmValues, readPlannedManifest, restoredHelmValuesKey } from '../read-backup.js';
import { renderRestoredHelmValues } from '../render-helm-values.js';
import type { RestoreDeps } from '../restore-deps.js';
import type { RestoreOutputs } from '../restore-outputs.js';

/**
 * Stores the Helm values pointed at the restored state beside the backup, as
 * `<backup folder>/restores/<restore-id>/helm-values.yaml`, headed by the command that installs Pachyderm on
 * them. Rendered from the backup's own values (read again, checked against the manifest the approval is bound
 * to) with the plan's targets: what was approved is what is written — unredacted, unlike the plan's copy.
 */
export function storeHelmValues(deps: RestoreDeps): Step<RestoreOutputs> {
  return {
    name: 'helm-values',
    title: 'Render the Helm values',
    description: 'Write the backup\'s Helm values pointed at the restored databases and bucket beside the backup.',
    async run(ctx) {
      const plan = ctx.outputs.plan;
      if (!plan) throw new PachbackupError('internal', 'helm-values needs the plan');
      const manifest = await readPlannedManifest(deps.backup, plan.backup, ctx.signal);
      const values = (await readBackupHelmValues(deps.backup, manifest, ctx.signal)) ?? {};
      const rendered = renderRestoredHelmValues(values, plan.helm.targets, plan.helm.chartVersion);
      if (rendered.problems.length > 0) throw new PachbackupError('precondition', rendered.problems.join('; '));
      const key = restoredHelmValuesKey(deps.backup, plan.backup.id, deps.restoreId);
      const body = [
        `# Helm values restoring backup ${plan.backup.id} into cluster ${plan.target.cluster} (restore ${deps.restoreId}, pachbackup ${PACHBACKUP_VERSION}, ${new Date().toISOString()}).`,
        `# Save as restored-values.yaml, then: ${plan.helm.command}`,
        rendered.yaml,
      ].join('\n');
      await deps.backup.s3.send(new PutObjectCommand({ Bucket: deps.backup.store.bucket, Key: key, Body: body, ContentType: 'application/yaml' }), { abortSignal: ctx.signal });
      return {
        output: { helmValues: { key, sha256: createHash('sha256').update(body).digest('hex'), command: plan.helm.command } },
        sizes: { bytes: Buffer.byteLength(body) },
        summary: `s3://${deps.backup.store.bucket}/${key}; then ${plan.helm.command}`,
      };
    },
  };
}
