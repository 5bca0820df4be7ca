import type { Job } from 'bullmq';
import type { WebClient } from '@slack/web-api';
import type { Config } from '../config/config.js';
import { describeError, PachbackupError } from '../errors.js';
import { formatBytes, formatDuration } from '../format-units.js';
import type { Logger } from '../log.js';
import type { RestoreDeps } from '../restore/restore-deps.js';
import { runRestore, type RestoreResult } from '../restore/run-restore.js';
import { createRunEvents, type RunEvent } from '../runner/run-event.js';
import { isFinal } from '../runner/run-phase.js';
import type { AuditLog } from '../state/audit-log.js';
import type { RunStore } from '../state/run-store.js';
import { escapeAndTruncate, escapeMrkdwn } from '../slack/views/mrkdwn.js';
import type { RestoreJobData } from './operations-queue.js';

/** What the restore job processor needs, built by the worker's composition root. */
export interface RestoreJobDeps {
  config: Config;
  runs: RunStore;
  audit: AuditLog;
  log: Logger;
  slack?: WebClient;
  depsFor: (data: RestoreJobData) => RestoreDeps & { close(): void };
}

/** The last reply of a restore's thread: outcome, databases, objects, and the helm command to run next. */
export function describeRestoreForSlack(r: RestoreResult): string {
  const ok = r.status === 'succeeded' || r.status === 'partially-failed';
  const lines = [`${ok ? '✅' : '🚨'} *Restore \`${escapeMrkdwn(r.id)}\` of \`${escapeMrkdwn(r.backupId)}\` into \`${escapeMrkdwn(r.cluster)}\`: ${escapeMrkdwn(r.status)}*${r.error ? ` — ${escapeAndTruncate(r.error, 1000)}` : ''}`];
  if (r.downtimeSeconds !== null) lines.push(`paused ${formatDuration(r.downtimeSeconds * 1000)}`);
  for (const d of r.databases) lines.push(`• database ${escapeMrkdwn(d.source)} → ${escapeMrkdwn(d.target)}: ${d.tables} tables, ${d.rows} rows${d.replaced ? ' (replaced the previous one)' : ''}`);
  lines.push(`• objects: ${r.objects.mode === 'backup-pool' ? 'used in place' : `${r.objects.copied} copied (${formatBytes(r.objects.copiedBytes)}), ${r.objects.skipped} already there, of ${r.objects.total}`} in s3://${escapeMrkdwn(`${r.objects.bucket}/${r.objects.prefix}`)}`);
  for (const w of r.warnings) lines.push(`⚠️ ${escapeAndTruncate(w, 300)}`);
  if (r.helm) lines.push(`*Next:* save ${escapeMrkdwn(r.helm.valuesUrl)} as restored-values.yaml, then run\n\`\`\`${escapeAndTruncate(r.helm.command, 2000)}\`\`\``);
  return lines.join('\n');
}

/**
 * The BullMQ processor of approved restores: `runRestore` (which takes the cluster lock and plans again,
 * refusing unless the fingerprint is the approved one), each step as a reply in the plan message's thread, then
 * the result with the helm command. A restore already finished is not run twice.
 */
export function createRestoreJobProcessor(deps: RestoreJobDeps) {
  return async (job: Job<RestoreJobData>, _token?: string, signal?: AbortSignal): Promise<RestoreResult | { id: string; status: string }> => {
    const data = job.data;
    const log = deps.log.child({ runId: data.runId, cluster: data.cluster, jobId: job.id });
    const existing = await deps.runs.getRun(data.runId);
    if (existing && isFinal(existing.phase)) {
      log.info({ phase: existing.phase }, 'restore already finished; not running it again');
      return { id: data.runId, status: existing.phase };
    }
    if (!deps.config.clusters[data.cluster]) throw new PachbackupError('config-invalid', `cluster ${data.cluster} is not in this worker's config`);
    const restoreDeps = deps.depsFor(data);
    const events = createRunEvents((err) => log.warn({ err }, 'a run event listener failed'));
    const client = deps.slack;
    const target = data.slack;
    // Replies go out one after another, in the order the steps finish.
    let replies: Promise<unknown> = Promise.resolve();
    const reply = (text: string) => {
      if (!client || !target) return;
      replies = replies.then(() => client.chat.postMessage({ channel: target.channel, thread_ts: target.ts, text })).catch((err: unknown) => log.warn({ err: describeError(err) }, 'could not reply in the restore thread'));
    };
    const stop = events.subscribe((e: RunEvent) => {
      if (e.type === 'step-finished') reply(`${e.state === 'skipped' ? '⏭️' : '✅'} ${escapeMrkdwn(e.step)} ${e.state} in ${formatDuration(e.durationMs)}${e.summary ? ` — ${escapeAndTruncate(e.summary, 500)}` : ''}`);
      else if (e.type === 'step-failed') reply(`❌ ${escapeMrkdwn(e.step)} failed: ${escapeAndTruncate(e.error, 1000)}`);
      else if (e.type === 'undo-finished') reply(`↩️ undo of ${escapeMrkdwn(e.step)}: ${e.state}${e.error ? ` — ${escapeAndTruncate(e.error, 500)}` : ''}`);
    });
    reply(`▶️ Restore \`${escapeMrkdwn(data.runId)}\` started (requested by ${data.requestedBy}, approved by ${data.approvedBy}).`);
    let result: RestoreResult;
    try {
      result = await runRestore({ deps: restoreDeps, plan: data.plan, events, log, ...(signal ? { signal } : {}) });
    } finally {
      stop();
      restoreDeps.close();
    }
    await deps.audit.record({
      actor: 'pachbackup',
      action: 'restore',
      cluster: data.cluster,
      runId: data.runId,
      outcome: result.status === 'succeeded' || result.status === 'partially-failed' ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed',
      detail: { via: 'slack', backupId: data.plan.backup.id, fingerprint: data.plan.fingerprint, status: result.status, error: result.error, requestedBy: data.requestedBy, approvedBy: data.approvedBy },
    });
    reply(describeRestoreForSlack(result));
    await replies;
    return result;
  };
}
