import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { backupFiles } from '../../catalog/backup-layout.js';
import { decodeHelmRelease } from '../../helm/release-secret.js';
import type { Step } from '../../runner/step.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs } from '../backup-outputs.js';

/**
 * Keeps the Helm values the cluster was deployed with (the runbook's first step): the deployed revision's
 * user-supplied values (`config` of the release, decoded as Helm encodes it) as helm-values.yaml, and the chart and
 * app versions for the manifest. A cluster not installed with Helm gets a warning, not a failure.
 */
export function captureHelmValues(deps: BackupDeps): Step<BackupOutputs> {
  const release = deps.cluster.pachyderm.helmRelease;
  return {
    name: 'helm-values',
    title: 'Keep the Helm values',
    description: `Save the user-supplied values of Helm release ${release} and its chart version.`,
    async run(ctx) {
      const secrets = await deps.workloads.listHelmReleaseSecrets(release);
      const deployed = secrets.find((s) => s.metadata?.labels?.status === 'deployed') ?? secrets[0];
      if (!deployed?.data?.release) {
        ctx.warn(`no Helm release "${release}" in namespace ${deps.workloads.namespace}: the backup has no Helm values; keep them yourself`);
        return { output: { helm: null }, summary: 'no Helm release found' };
      }
      const decoded = decodeHelmRelease(deployed.data.release);
      const yaml = `# Helm values of release ${decoded.name} revision ${decoded.version} (chart ${decoded.chart.metadata.name} ${decoded.chart.metadata.version})\n${stringify(decoded.config ?? {})}`;
      const key = backupFiles.helmValues(deps.cluster.backupStore, deps.cluster.name, deps.backupId);
      await deps.backupS3.send(new PutObjectCommand({ Bucket: deps.cluster.backupStore.bucket, Key: key, Body: yaml, ContentType: 'application/yaml' }), { abortSignal: ctx.signal });
      const bytes = Buffer.byteLength(yaml);
      return {
        output: {
          helm: {
            key,
            sha256: createHash('sha256').update(yaml).digest('hex'),
            bytes,
            release: decoded.name,
            revision: decoded.version,
            ...(decoded.chart.metadata.version ? { chartVersion: decoded.chart.metadata.version } : {}),
            ...(decoded.chart.metadata.appVersion ? { appVersion: decoded.chart.metadata.appVersion } : {}),
          },
        },
        sizes: { bytes },
        summary: `release ${decoded.name} revision ${decoded.version}, chart ${decoded.chart.metadata.version ?? '?'}, app ${decoded.chart.metadata.appVersion ?? '?'}`,
      };
    },
  };
}
