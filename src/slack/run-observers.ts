import type { WebClient } from '@slack/web-api';
import type { BackupResult } from '../backup/run-backup.js';
import type { Config } from '../config/config.js';
import type { DrillResult } from '../drill/run-drill.js';
import { describeError } from '../errors.js';
import type { BackupJobData, DrillJobData, RestoreJobData } from '../jobs/operations-queue.js';
import type { RestoreRunStart } from '../jobs/process-restore-job.js';
import type { JobRefusal } from '../jobs/job-authority.js';
import type { RunObserver, RunStart } from '../jobs/run-observer.js';
import type { WorkerObservers } from '../jobs/start-worker.js';
import type { Logger } from '../log.js';
import type { RestoreResult } from '../restore/run-restore.js';
import { backupOutcome, restoreOutcome } from './run-outcomes.js';
import { createRunReporter } from './run-reporter.js';
import { buildDrillCheckReply, buildDrillMessage, buildDrillSummary } from './views/drill-summary.js';
import { escapeMrkdwn, codeSpan } from './views/mrkdwn.js';

/** What the Slack reporting of a worker's runs needs, given where the worker is composed. */
export interface SlackRunObserversDeps {
  client: WebClient;
  config: Config;
  log: Logger;
  /** IANA zone for plain-text times in announcements. */
  fallbackZone?: string;
}

/**
 * The worker's runs reported in Slack, subscribed to each run's events: a backup's checklist message (posted by
 * the app when it was confirmed or scheduled) edited in place with a reply per step and the users' announcement;
 * a restore's own message, a pointer to it in the plan's thread, its announcement and the rendered Helm values
 * attached; a drill's checks and verdict in its thread. Runs whose job names no Slack message are not reported.
 */
export function createSlackRunObservers(deps: SlackRunObserversDeps): WorkerObservers {
  return { backup: backupObserver(deps), restore: restoreObserver(deps), drill: drillObserver(deps), refused: (refusal) => sayRefused(deps, refusal) };
}

/** A job the worker refused: said in the thread of the run's message (or of each plan message of the request). */
async function sayRefused({ client, log }: SlackRunObserversDeps, refusal: JobRefusal): Promise<void> {
  const what = refusal.kind === 'restore' ? `Restore ${codeSpan(refusal.runId)}` : `${refusal.kind === 'backup' ? 'Backup' : 'Drill'} ${codeSpan(refusal.runId)}`;
  const text = `🚫 ${what} was not run: ${escapeMrkdwn(refusal.reason)}. Nothing was changed.`;
  for (const message of refusal.slack) {
    await client.chat.postMessage({ channel: message.channel, thread_ts: message.ts, text }).catch((err: unknown) => log.warn({ err: describeError(err) }, 'could not say why a job was refused'));
  }
}

function backupObserver({ client, config, log, fallbackZone }: SlackRunObserversDeps): RunObserver<RunStart<BackupJobData>, BackupResult> {
  return ({ job, run, events, steps, createdAt, estimate }) => {
    if (!run.slack) return undefined;
    const reporter = createRunReporter({
      client,
      target: run.slack,
      cluster: config.clusters[run.cluster]!,
      run: { id: run.id, kind: 'backup', requestedBy: run.requestedBy, ...(run.note ? { note: run.note } : {}), ...(estimate ? { estimate } : {}), createdAt: createdAt.toISOString() },
      plan: steps,
      events,
      log,
      ...(job.data.announcement ? { announcement: job.data.announcement } : {}),
      onAnnounced: (announcement) => void job.updateData({ ...job.data, announcement }).catch((err: unknown) => log.warn({ err }, 'could not record the announcement in the job')),
      ...(fallbackZone ? { fallbackZone } : {}),
    });
    return { finish: (result) => (result.handedBack ? reporter.handedBack() : reporter.finish(backupOutcome(result))) };
  };
}

/**
 * Posts (or, for an attempt after a dead worker, finds) the restore's run message and its announcement, says in
 * the plan's thread where the restore is followed, and records where both are in the job for a later attempt; at
 * the end, attaches the rendered values with the helm command and gives the outcome.
 */
function restoreObserver({ client, config, log, fallbackZone }: SlackRunObserversDeps): RunObserver<RestoreRunStart, RestoreResult> {
  return async ({ job, run, events, steps, createdAt, estimate, plan, approvedBy, planMessage, readStoreText }) => {
    if (!planMessage) return undefined;
    const data = job.data;
    const cluster = config.clusters[run.cluster]!;
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
        id: run.id,
        kind: 'restore',
        requestedBy: run.requestedBy,
        approvedBy: approvedBy.map((a) => `<@${a}>`),
        ...(run.note ? { note: run.note } : {}),
        ...(estimate ? { estimate } : {}),
        createdAt: createdAt.toISOString(),
        restore: { backupTakenAt: plan.backup.completedAt, switches: plan.pause.needed },
      },
      plan: steps,
      events,
      log,
      ...(data.announcement ? { announcement: data.announcement } : {}),
      onAnnounced: (announcement) => void record({ announcement }),
      ...(fallbackZone ? { fallbackZone } : {}),
    });
    if (!data.runMessage) {
      const posted = await reporter.post();
      if (posted) {
        await record({ runMessage: posted });
        const link = await client.chat.getPermalink({ channel: posted.channel, message_ts: posted.ts }).then(
          (r) => r.permalink,
          () => undefined,
        );
        await client.chat
          .postMessage({ channel: planMessage.channel, thread_ts: planMessage.ts, text: `▶️ Restore ${codeSpan(run.id)} started — follow it ${link ? `<${link}|in its own message>` : 'in its own message in this channel'}.` })
          .catch((err: unknown) => log.warn({ err: describeError(err) }, 'could not point the plan thread at the restore'));
      }
    }
    return {
      async finish(result) {
        if (result.handedBack) return reporter.handedBack();
        if (result.helm) {
          const content = await readStoreText(result.helm.valuesKey).catch((err: unknown) => log.warn({ err: describeError(err) }, 'could not read the rendered values back to attach them'));
          // The content comes with its secrets replaced by where they are; the comment says how to get the full file.
          const command = `pachbackup values ${plan.backup.id} --restore ${run.id}`;
          if (content) await reporter.attach({ filename: 'restored-values.yaml', title: `Helm values for ${run.cluster} restored from ${plan.backup.id}`, content, comment: `Helm values pointed at the restored state, secrets left out: \`${command}\` prints the full file (it needs the backup store's credentials). Save it as restored-values.yaml, then:\n\`\`\`${result.helm.command}\`\`\`` });
        }
        await reporter.finish(restoreOutcome(result, estimate));
      },
    };
  };
}

/** A drill's checks as thread replies, its message edited to the verdict, and a summary — broadcast when it failed. */
function drillObserver({ client, log }: SlackRunObserversDeps): RunObserver<RunStart<DrillJobData>, DrillResult> {
  return ({ run }) => {
    const target = run.slack;
    if (!target) return undefined;
    return {
      async finish(result) {
        try {
          for (const check of result.checks) {
            const reply = buildDrillCheckReply(check);
            await client.chat.postMessage({ channel: target.channel, thread_ts: target.ts, text: reply.text, blocks: reply.blocks });
          }
          const message = buildDrillMessage({ id: run.id, cluster: run.cluster, ...(result.backupId ? { backupId: result.backupId } : {}), requestedBy: run.requestedBy, state: result.ok ? 'passed' : 'failed' });
          await client.chat.update({ channel: target.channel, ts: target.ts, text: message.text, blocks: message.blocks });
          // The summary comes last: once it is there, the thread and the message are final.
          const summary = buildDrillSummary(result);
          // A failed drill is broadcast to the channel too: nobody should miss that a backup may not restore.
          await client.chat.postMessage({ channel: target.channel, thread_ts: target.ts, text: summary.text, blocks: summary.blocks, reply_broadcast: !result.ok });
        } catch (err) {
          log.warn({ err: describeError(err) }, 'could not report the drill in Slack');
        }
      },
    };
  };
}
