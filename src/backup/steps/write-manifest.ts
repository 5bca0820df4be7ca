import { PutObjectCommand } from '@aws-sdk/client-s3';
import { storePath, backupFiles } from '../../catalog/backup-layout.js';
import type { BackupManifest } from '../../catalog/manifest.js';
import { PachbackupError } from '../../errors.js';
import type { Step } from '../../runner/step.js';
import { PACHBACKUP_VERSION } from '../../version.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs } from '../backup-outputs.js';

/** Seconds between two ISO times. */
export function secondsBetween(from: string, to: string): number {
  return Math.round((Date.parse(to) - Date.parse(from)) / 10) / 100;
}

/**
 * Writes manifest.json, last: its presence is what makes the backup complete and listed. Written after the
 * resume, so the outage is not spent on it and the manifest can state the real downtime.
 */
export function writeManifest(deps: BackupDeps): Step<BackupOutputs> {
  const { cluster, backupId } = deps;
  const key = backupFiles.manifest(cluster.backupStore, cluster.name, backupId);
  return {
    name: 'manifest',
    title: 'Write the manifest',
    description: 'Record the backup in manifest.json; from then on it is listed as complete.',
    async run(ctx) {
      const o = ctx.outputs;
      if (!o.pause || !o.resume || !o.dumps || !o.inventory || !o.preflight || !o.delta) {
        throw new PachbackupError('internal', 'the manifest needs the outputs of pause, dumps, delta copy, inventory and resume');
      }
      const steps = (await deps.runs.getSteps(backupId)).filter((s) => s.name !== 'manifest' && s.name !== 'verify');
      const manifest: BackupManifest = {
        formatVersion: 1,
        id: backupId,
        cluster: cluster.name,
        status: 'complete',
        requestedBy: deps.requestedBy,
        ...(deps.note ? { note: deps.note } : {}),
        startedAt: o.startedAt ?? o.pause.pausedAt,
        completedAt: new Date().toISOString(),
        pachyderm: {
          namespace: cluster.kubernetes.namespace,
          helmRelease: cluster.pachyderm.helmRelease,
          ...(o.helm ? { helmRevision: o.helm.revision } : {}),
          ...(o.helm?.chartVersion ? { chartVersion: o.helm.chartVersion } : {}),
          ...(o.helm?.appVersion ? { appVersion: o.helm.appVersion } : {}),
          ...(o.preflight.snapshot.pachdImage ? { pachdImage: o.preflight.snapshot.pachdImage } : {}),
          pauseStrategy: cluster.pachyderm.pauseStrategy,
        },
        downtime: { pausedAt: o.pause.pausedAt, resumedAt: o.resume.resumedAt, seconds: secondsBetween(o.pause.pausedAt, o.resume.resumedAt) },
        replicas: {
          pachd: o.pause.recorded.pachd.replicas,
          deployments: Object.fromEntries(o.pause.recorded.deployments.map((d) => [d.name, d.replicas])),
          workers: Object.fromEntries(o.pause.recorded.workers.map((w) => [w.name, w.replicas])),
        },
        steps: steps.map((s) => ({
          name: s.name,
          startedAt: s.startedAt?.toISOString() ?? null,
          finishedAt: s.finishedAt?.toISOString() ?? null,
          durationMs: s.durationMs === null ? null : Math.round(s.durationMs),
          ...(s.bytes !== null ? { bytes: s.bytes } : {}),
          ...(s.objects !== null ? { objects: s.objects } : {}),
          ...(s.rows !== null ? { rows: s.rows } : {}),
        })),
        ...(o.helm ? { helmValues: { key: o.helm.key, sha256: o.helm.sha256, bytes: o.helm.bytes } } : {}),
        databases: o.dumps,
        objects: {
          pool: `${storePath(cluster.backupStore, 'objects')}/`,
          inventory: { key: o.inventory.key, sha256: o.inventory.sha256, bytes: o.inventory.bytes },
          count: o.inventory.objects,
          bytes: o.inventory.objectBytes,
          copied: (o.preCopy?.copied ?? 0) + (o.catchUp?.copied ?? 0) + o.delta.copied,
          copiedBytes: (o.preCopy?.copiedBytes ?? 0) + (o.catchUp?.copiedBytes ?? 0) + o.delta.copiedBytes,
          copiedWhilePaused: o.delta.copied,
        },
        tools: { pachbackup: PACHBACKUP_VERSION, node: process.version, pgDump: o.preflight.pgDumpVersion },
      };
      const body = `${JSON.stringify(manifest, null, 2)}\n`;
      await deps.backupS3.send(new PutObjectCommand({ Bucket: cluster.backupStore.bucket, Key: key, Body: body, ContentType: 'application/json' }), { abortSignal: ctx.signal });
      return { output: { manifest: { key } }, sizes: { bytes: Buffer.byteLength(body) }, summary: `backup ${backupId} is complete` };
    },
  };
}
