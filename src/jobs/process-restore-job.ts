import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Job } from 'bullmq';
import type { WebClient } from '@slack/web-api';
import type { ClusterConfig, Config } from '../config/config.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { openJobRun } from './job-run.js';
import type { RestoreDeps } from '../restore/restore-deps.js';
import type { RestorePlan } from '../restore/restore-plan.js';
import { createRestoreSteps } from '../restore/restore-steps.js';
import { runRestore, type RestoreResult } from '../restore/run-restore.js';
import { createRunEvents, type RunEvents } from '../runner/run-event.js';
import { restoreOutcome } from '../slack/run-outcomes.js';
import { createRunReporter } from '../slack/run-reporter.js';
import { escapeMrkdwn } from '../slack/views/mrkdwn.js';
import type { DowntimeEstimate } from '../slack/views/view-models.js';
import type { AuditLog } from '../state/audit-log.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';
import type { RestoreJobData } from './operations-queue.js';

/** What the restore job processor needs, built by the worker's composition root. */
export interface RestoreJobDeps {
  config: Config;
  runs: RunStore;
  locks: ClusterLocks;
  audit: AuditLog;
  log: Logger;
  slack?: WebClient;
  depsFor: (data: RestoreJobData) => RestoreDeps & { close(): void };
  /** The downtime of a restore that pauses its target (see `estimateRestoreDowntime`); undefined: none to give. */
  estimate?: (cluster: ClusterConfig, plan: RestorePlan) => Promise<DowntimeEstimate | undefined>;
  /** Starts observing a run's events (metrics); the returned function stops it. */
  observe?: (data: RestoreJobData, events: RunEvents) => () => void;
  fallbackZone?: string;
}

/**
 * The BullMQ processor of approved restores, reported as backups are: the run's own message in the ops channel
 * (a checklist of the restore's steps, edited in place, a reply per step, a summary), a pointer to it in the plan
 * message's thread, and the users' announcement — that a restore started and which moment it brings back, the
 * pause with its estimated end when the target is switched in place, and the all-clear with the real downtime.
 * The rendered Helm values are attached to the thread with the helm command. `runRestore` takes the cluster lock
 * and plans again, refusing unless the fingerprint is the approved one. An attempt picked up after its worker
 * died takes the lock over, resumes from the checkpoints and edits the messages already posted; a restore
 * already finished is not run twice.
 */
export function createRestoreJobProcessor(deps: RestoreJobDeps) {
  return async (job: Job<RestoreJobData>, _token?: string, signal?: AbortSignal): Promise<RestoreResult | { id: string; status: string }> => {
    const data = job.data;
    const log = deps.log.child({ runId: data.runId, cluster: data.cluster, jobId: job.id });
    const opened = await openJobRun(deps, data, log);
    if (opened.done) return opened.done;
    const { cluster, existing } = opened;
    const estimate = data.estimate ?? (await estimateOrNone(deps, cluster, data.plan, log));
    const restoreDeps = deps.depsFor(data);
    const events = createRunEvents((err) => log.warn({ err }, 'a run event listener failed'));
    const stopObserving = deps.observe?.(data, events);
    const reporter = deps.slack && data.slack ? await startReport(deps.slack, job, { ...data, ...(estimate ? { estimate } : {}) }, { cluster, restoreDeps, events, log, createdAt: existing?.createdAt ?? new Date(), ...(deps.fallbackZone ? { fallbackZone: deps.fallbackZone } : {}) }) : undefined;
    try {
      // A run that already started belongs to a dead worker (BullMQ gave us its stalled job): take over its lock.
      if (existing && existing.phase !== 'queued') {
        restoreDeps.session.lock = await deps.locks.takeOver(data.cluster, { runId: data.runId, kind: 'restore', requestedBy: data.requestedBy }, signal);
      }
      const result = await runRestore({ deps: restoreDeps, plan: data.plan, events, log, ...(signal ? { signal } : {}), ...(estimate ? { estimate } : {}) });
      await deps.audit.record({
        actor: 'pachbackup',
        action: 'restore',
        cluster: data.cluster,
        runId: data.runId,
        outcome: result.status === 'succeeded' || result.status === 'partially-failed' ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed',
        detail: { via: 'slack', backupId: data.plan.backup.id, fingerprint: data.plan.fingerprint, status: result.status, error: result.error, requestedBy: data.requestedBy, approvedBy: data.approvedBy, downtimeSeconds: result.downtimeSeconds, estimatedSeconds: estimate?.expectedSeconds },
      });
      if (reporter && result.helm) {
        const content = await readText(restoreDeps, result.helm.valuesKey).catch((err: unknown) => log.warn({ err: describeError(err) }, 'could not read the rendered values back to attach them'));
        if (content) await reporter.attach({ filename: 'restored-values.yaml', title: `Helm values for ${data.cluster} restored from ${data.plan.backup.id}`, content, comment: `Helm values pointed at the restored state. Save as restored-values.yaml, then:\n\`\`\`${result.helm.command}\`\`\`` });
      }
      await reporter?.finish(restoreOutcome(result, estimate));
      return result;
    } finally {
      stopObserving?.();
      restoreDeps.close();
    }
  };
}

async function estimateOrNone(deps: RestoreJobDeps, cluster: ClusterConfig, plan: RestorePlan, log: Logger): Promise<DowntimeEstimate | undefined> {
  if (!plan.pause.needed || !deps.estimate) return undefined;
  try {
    return await deps.estimate(cluster, plan);
  } catch (err) {
    log.warn({ err: describeError(err) }, 'could not estimate the restore downtime; it is announced without one');
    return undefined;
  }
}

/**
 * Posts (or, for an attempt after a dead worker, finds) the run message and the announcement, says in the plan's
 * thread where the restore is followed, and records where both are in the job for a later attempt.
 */
async function startReport(
  client: WebClient,
  job: Job<RestoreJobData>,
  data: RestoreJobData,
  context: { cluster: ClusterConfig; restoreDeps: RestoreDeps; events: RunEvents; log: Logger; createdAt: Date; fallbackZone?: string },
) {
  const { cluster, restoreDeps, events, log, fallbackZone } = context;
  const plan = data.plan;
  const planMessage = data.slack!;
  let recorded: RestoreJobData = data;
  const record = async (change: Partial<RestoreJobData>) => {
    recorded = { ...recorded, ...change };
    await job.updateData(recorded).catch((err: unknown) => log.warn({ err: describeError(err) }, 'could not record the Slack messages in the job'));
  };
  const announceChannel = cluster.slack?.announceChannel;
  const reporter = createRunReporter({
    client,
    target: { channel: data.runMessage?.channel ?? planMessage.channel, ...(data.runMessage ? { ts: data.runMessage.ts } : {}), ...(announceChannel ? { announceChannel } : {}) },
    cluster,
    run: {
      id: data.runId,
      kind: 'restore',
      requestedBy: data.requestedBy,
      approvedBy: data.approvedBy.split(/,\s*/).filter((a) => a !== ''),
      note: `restores backup ${plan.backup.id}${plan.inPlace ? ' in place' : ''}`,
      ...(data.estimate ? { estimate: data.estimate } : {}),
      createdAt: context.createdAt.toISOString(),
      restore: { backupTakenAt: plan.backup.completedAt, switches: plan.pause.needed },
    },
    plan: createRestoreSteps(restoreDeps, plan).map((s) => ({ name: s.name, title: s.title, downtime: s.downtime ?? false })),
    events,
    log,
    ...(data.announcement ? { announcement: data.announcement } : {}),
    onAnnounced: (announcement) => void record({ announcement }),
    ...(fallbackZone ? { fallbackZone } : {}),
  });
  if (!data.runMessage) {
    const posted = await reporter.post();
    if (posted) {
      await record({ runMessage: posted, ...(data.estimate ? { estimate: data.estimate } : {}) });
      const link = await client.chat.getPermalink({ channel: posted.channel, message_ts: posted.ts }).then(
        (r) => r.permalink,
        () => undefined,
      );
      await client.chat
        .postMessage({ channel: planMessage.channel, thread_ts: planMessage.ts, text: `▶️ Restore \`${escapeMrkdwn(data.runId)}\` started — follow it ${link ? `<${link}|in its own message>` : 'in its own message in this channel'}.` })
        .catch((err: unknown) => log.warn({ err: describeError(err) }, 'could not point the plan thread at the restore'));
    }
  }
  return reporter;
}

async function readText(deps: RestoreDeps, key: string): Promise<string> {
  const res = await deps.backup.s3.send(new GetObjectCommand({ Bucket: deps.backup.store.bucket, Key: key }));
  return res.Body!.transformToString();
}
