import type { KnownBlock } from '@slack/types';
import { formatBytes, formatDuration } from '../../format-units.js';
import type { RunPhase } from '../../runner/run-phase.js';
import { type SlackMessage, LIMITS, fieldsSection, messageText, section } from './block-kit.js';
import { compareToEstimate, describeEstimatePrecise } from './downtime-text.js';
import { escapeAndTruncate, escapeMrkdwn, formatCount, joinWithin, codeSpan } from './mrkdwn.js';
import { PHASE_BADGES } from './run-badges.js';
import type { DowntimeEstimate } from './view-models.js';

/** The end of a restore, for the final reply of its thread (a subset of `RestoreResult`). */
export interface RestoreSummaryView {
  id: string;
  backupId: string;
  cluster: string;
  phase: RunPhase;
  error?: string;
  warnings: string[];
  inPlace: boolean;
  downtimeSeconds: number | null;
  estimate?: DowntimeEstimate;
  databases: { source: string; target: string; tables: number; rows: number; replaced: boolean }[];
  objects: { mode: 'copy' | 'backup-pool'; bucket: string; prefix: string; total: number; copied: number; copiedBytes: number; skipped: number };
  helm?: { valuesUrl: string; command: string };
}

const OUTCOMES: Record<RunPhase, string> = {
  queued: 'is queued',
  validating: 'is being checked',
  running: 'is still running',
  succeeded: 'is complete',
  'partially-failed': 'is complete, with problems',
  'failed-validation': 'did not start: a check failed and nothing was changed',
  failed: 'failed',
  cancelled: 'was cancelled',
};

/**
 * The final reply in a restore's thread: the outcome, the downtime against its estimate (or that the cluster
 * was not paused), each database with its tables and rows (and whether it replaced one), the objects copied,
 * then the error and warnings, and last what to do next: the rendered values and the exact helm command —
 * for an in-place restore the cluster already runs on the restored state, so the command is only needed to
 * keep the release's values in step.
 */
export function buildRestoreSummary(summary: RestoreSummaryView): SlackMessage {
  const badge = PHASE_BADGES[summary.phase];
  const ok = summary.phase === 'succeeded' || summary.phase === 'partially-failed';
  const head = `${badge.emoji} *Restore ${codeSpan(summary.id, 200)} of ${codeSpan(summary.backupId, 200)} into ${codeSpan(summary.cluster, 200)} ${OUTCOMES[summary.phase]}.*`;
  const databases = summary.databases.map((d) => `${codeSpan(d.source, 100)} → ${codeSpan(d.target, 100)}: ${formatCount(d.tables)} tables, ${formatCount(d.rows)} rows${d.replaced ? ' (replaced)' : ''}`);
  const o = summary.objects;
  const where = codeSpan(`s3://${o.bucket}/${o.prefix}`, 300);
  const objects = o.mode === 'backup-pool' ? `the backup store's, used in place at ${where}` : `${formatCount(o.copied)} copied (${formatBytes(o.copiedBytes)}), ${formatCount(o.skipped)} already there, of ${formatCount(o.total)}, in ${where}`;
  const blocks: KnownBlock[] = [
    section(head),
    fieldsSection([`*Downtime*\n${downtime(summary)}`, `*Databases*\n${databases.length > 0 ? joinWithin(databases, 1500, '\n') : 'none restored'}`, `*Objects*\n${objects}`]),
  ];
  if (summary.error) blocks.push(section(`❌ *Error:* ${escapeAndTruncate(summary.error, LIMITS.textChars - 20)}`));
  if (summary.warnings.length > 0) blocks.push(section(`⚠️ *Warnings*\n${summary.warnings.map((w) => `• ${escapeAndTruncate(w, 600)}`).join('\n')}`));
  if (ok && summary.helm) {
    const why = summary.inPlace ? 'Pachyderm already runs on the restored state. To keep its Helm release in step' : 'Pachyderm still runs on its previous state. To switch it to the restored one';
    blocks.push(section(`*Next:* ${why}, save the attached values as restored-values.yaml (also at ${codeSpan(summary.helm.valuesUrl, 500)}) and run\n\`\`${codeSpan(summary.helm.command, 2000)}\`\``));
  }
  return { text: messageText(escapeMrkdwn(`${badge.emoji} Restore ${summary.id} of ${summary.backupId} into ${summary.cluster} ${OUTCOMES[summary.phase]}${summary.error ? `: ${summary.error}` : ''}`)), blocks };
}

function downtime(summary: RestoreSummaryView): string {
  if (summary.downtimeSeconds === null) return 'none: Pachyderm was not paused';
  const actual = formatDuration(summary.downtimeSeconds * 1000);
  if (!summary.estimate) return actual;
  const comparison = compareToEstimate(summary.downtimeSeconds, summary.estimate);
  return `${actual}\nestimated ${describeEstimatePrecise(summary.estimate)}\n${comparison.withinRange ? '✅' : '⚠️'} ${comparison.verdict}`;
}
