import type { KnownBlock } from '@slack/types';
import type { BackupManifest, VerificationRecord } from '../../catalog/manifest.js';
import { formatBytes, formatDuration } from '../../format-units.js';
import { type SlackMessage, LIMITS, context, fieldsSection, fitBlocks, header, listSections, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn, formatCount, formatRequester, joinWithin, plural, codeSpan } from './mrkdwn.js';
import { describeSizes } from './step-text.js';
import { SLACK_DATE_TIME, SLACK_TIME, slackDate } from './time-text.js';

/**
 * The `show <backup-id>` reply, from the backup's manifest (and its latest verification, if any): who took it
 * and why, the Pachyderm and chart versions, the downtime, the objects and databases it holds, the replicas the
 * resume restored, each step's timing and size, and every verification check. Everything comes from the backup
 * store, so it works even when the state database is gone.
 */
export function buildBackupShow(manifest: BackupManifest, verification?: VerificationRecord, zone = 'UTC'): SlackMessage {
  const at = (iso: string) => slackDate(iso, SLACK_DATE_TIME, zone);
  const p = manifest.pachyderm;
  const intro = [
    `Cluster ${codeSpan(manifest.cluster, 200)} · namespace ${codeSpan(p.namespace, 200)} · completed ${at(manifest.completedAt)}`,
    `Requested by ${formatRequester(manifest.requestedBy)} · started ${at(manifest.startedAt)}`,
  ];
  if (manifest.note) intro.push(`*Note:* ${escapeAndTruncate(manifest.note.replace(/\s+/g, ' '), 1000)}`);

  const versions = [
    p.appVersion ? `Pachyderm ${escapeMrkdwn(p.appVersion)}` : 'Pachyderm version unknown',
    `release ${codeSpan(p.helmRelease)}${p.helmRevision !== undefined ? ` revision ${p.helmRevision}` : ''}${p.chartVersion ? `, chart ${escapeMrkdwn(p.chartVersion)}` : ''}`,
    ...(p.pachdImage ? [`${codeSpan(p.pachdImage)}`] : []),
  ];
  const o = manifest.objects;
  const databases = manifest.databases.map((d) => {
    const rows = d.tables.reduce((n, t) => n + t.rows, 0);
    return `${codeSpan(d.name)} ${formatBytes(d.bytes)} · ${plural(d.tables.length, 'table')}, ${plural(rows, 'row')}`;
  });
  const workerPods = Object.values(manifest.replicas.workers).reduce((n, r) => n + r, 0);
  const deployments = Object.entries(manifest.replicas.deployments).map(([name, n]) => `${codeSpan(name)} ×${formatCount(n)}`);
  const fields = [
    `*Pachyderm*\n${versions.join('\n')}`,
    `*Downtime*\n${formatDuration(manifest.downtime.seconds * 1000)}\n${slackDate(manifest.downtime.pausedAt, SLACK_TIME, zone)} → ${slackDate(manifest.downtime.resumedAt, SLACK_TIME, zone)} · ${p.pauseStrategy === 'enterprise' ? 'paused mode' : 'scaled to zero'}`,
    `*Objects*\n${plural(o.count, 'object')} (${formatBytes(o.bytes)})\n${formatCount(o.copied)} copied by this backup (${formatBytes(o.copiedBytes)}), ${formatCount(o.copiedWhilePaused)} while paused`,
    `*Databases*\n${databases.length > 0 ? joinWithin(databases, 1500, '\n') : 'none'}`,
    `*Replicas restored*\npachd ×${formatCount(manifest.replicas.pachd)}${deployments.length > 0 ? `, ${joinWithin(deployments, 600)}` : ''}\n${plural(Object.keys(manifest.replicas.workers).length, 'worker RC')} (${plural(workerPods, 'pod')})`,
    `*Verification*\n${describeVerification(verification, zone)}`,
  ];
  const steps = manifest.steps.map((s) => {
    const facts = [s.durationMs !== null ? formatDuration(s.durationMs) : 'not run', describeSizes({ ...(s.bytes !== undefined ? { bytes: s.bytes } : {}), ...(s.objects !== undefined ? { objects: s.objects } : {}), ...(s.rows !== undefined ? { rows: s.rows } : {}) })];
    return `• ${codeSpan(s.name, 100)} ${facts.filter((f) => f !== '').join(' · ')}`;
  });

  const body: KnownBlock[] = [header(`Backup ${manifest.id}`), section(intro.join('\n')), fieldsSection(fields)];
  body.push(...listSections([`*Steps*`, ...steps], 3, 'more steps'));
  if (verification && verification.checks.length > 0) {
    const checks = verification.checks.map((c) => `${c.ok ? '✅' : '❌'} ${escapeAndTruncate(c.name, 100)} — ${escapeAndTruncate(c.detail, 400)}`);
    body.push(...listSections([`*Verification checks*`, ...checks], 5, 'more checks'));
  }
  const tools = [`pachbackup ${escapeMrkdwn(manifest.tools.pachbackup)}`, `Node ${escapeMrkdwn(manifest.tools.node)}`, ...(manifest.tools.pgDump ? [escapeMrkdwn(manifest.tools.pgDump)] : [])];
  const tail = context(`Taken with ${tools.join(', ')} · objects in ${codeSpan(o.pool, 400)}`);
  const verified = verification ? (verification.ok ? ', verified' : ', verification FAILED') : '';
  return {
    text: messageText(escapeMrkdwn(`Backup ${manifest.id} of ${manifest.cluster}: ${plural(o.count, 'object')} (${formatBytes(o.bytes)}), ${plural(manifest.databases.length, 'database')}, downtime ${formatDuration(manifest.downtime.seconds * 1000)}${verified}`)),
    blocks: [...fitBlocks(body, LIMITS.blocksPerMessage - 1, (n) => `…${n} more blocks not shown.`), tail],
  };
}

function describeVerification(verification: VerificationRecord | undefined, zone: string): string {
  if (!verification) return '◽ not verified yet';
  const failed = verification.checks.filter((c) => !c.ok).length;
  const when = slackDate(verification.verifiedAt, SLACK_DATE_TIME, zone);
  return verification.ok ? `✅ passed ${when}\n${plural(verification.checks.length, 'check')}` : `❌ failed ${when}\n${formatCount(failed)} of ${plural(verification.checks.length, 'check')} failed`;
}
