import type { Job } from 'bullmq';
import type { WebClient } from '@slack/web-api';
import type { Config } from '../config/config.js';
import type { DrillDeps } from '../drill/drill-steps.js';
import { runDrill, type DrillResult } from '../drill/run-drill.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { openJobRun } from './job-run.js';
import { createRunEvents } from '../runner/run-event.js';
import type { AuditLog } from '../state/audit-log.js';
import type { RunStore } from '../state/run-store.js';
import { buildDrillCheckReply, buildDrillMessage, buildDrillSummary } from '../slack/views/drill-summary.js';
import type { DrillJobData } from './operations-queue.js';

/** What the drill job processor needs, built by the worker's composition root. */
export interface DrillJobDeps {
  config: Config;
  runs: RunStore;
  audit: AuditLog;
  log: Logger;
  slack?: WebClient;
  depsFor: (data: DrillJobData) => DrillDeps & { close(): void };
}

/**
 * The BullMQ processor of drill jobs: runs `runDrill` (no cluster lock — a drill never touches the cluster),
 * audits the outcome, then reports in the run message's thread: one reply per check, and a summary that is
 * loud when the drill failed; the run message itself is edited to the verdict. A drill already finished (a
 * job seen again after its worker died) is not run twice.
 */
export function createDrillJobProcessor(deps: DrillJobDeps) {
  return async (job: Job<DrillJobData>, _token?: string, signal?: AbortSignal): Promise<DrillResult | { id: string; status: string }> => {
    const data = job.data;
    const log = deps.log.child({ runId: data.runId, cluster: data.cluster, jobId: job.id });
    const opened = await openJobRun(deps, data, log);
    if (opened.done) return opened.done;
    const drillDeps = deps.depsFor(data);
    const events = createRunEvents((err) => log.warn({ err }, 'a run event listener failed'));
    let result: DrillResult;
    try {
      result = await runDrill({ deps: drillDeps, events, log, ...(signal ? { signal } : {}) });
    } finally {
      drillDeps.close();
    }
    await deps.audit.record({
      actor: 'pachbackup',
      action: 'drill',
      cluster: data.cluster,
      runId: data.runId,
      outcome: result.ok ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed',
      detail: { backupId: result.backupId, status: result.status, error: result.error, failedChecks: result.checks.filter((c) => !c.ok).map((c) => c.name) },
    });
    if (deps.slack && data.slack) await report(deps.slack, data, result, log);
    return result;
  };
}

async function report(client: WebClient, data: DrillJobData, result: DrillResult, log: Logger): Promise<void> {
  const target = data.slack!;
  try {
    for (const check of result.checks) {
      const reply = buildDrillCheckReply(check);
      await client.chat.postMessage({ channel: target.channel, thread_ts: target.ts, text: reply.text, blocks: reply.blocks });
    }
    const message = buildDrillMessage({ id: data.runId, cluster: data.cluster, ...(result.backupId ? { backupId: result.backupId } : {}), requestedBy: data.requestedBy, state: result.ok ? 'passed' : 'failed' });
    await client.chat.update({ channel: target.channel, ts: target.ts, text: message.text, blocks: message.blocks });
    // The summary comes last: once it is there, the thread and the message are final.
    const summary = buildDrillSummary(result);
    // A failed drill is broadcast to the channel too: nobody should miss that a backup may not restore.
    await client.chat.postMessage({ channel: target.channel, thread_ts: target.ts, text: summary.text, blocks: summary.blocks, reply_broadcast: !result.ok });
  } catch (err) {
    log.warn({ err: describeError(err) }, 'could not report the drill in Slack');
  }
}
