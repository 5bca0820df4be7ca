import type { WebClient } from '@slack/web-api';
import type { ClusterConfig } from '../config/config.js';
import type { PostedAnnouncement, SlackRunTarget } from '../jobs/operations-queue.js';
import type { Logger } from '../log.js';
import type { RunEvent, RunEvents, UndoCause } from '../runner/run-event.js';
import type { RunPhase } from '../runner/run-phase.js';
import type { PlannedStep } from '../runner/step.js';
import { announcementMetadata, findAnnouncement } from './announcement-metadata.js';
import { createNotBackAlert } from './cluster-not-back-alert.js';
import { escapeAndTruncate, escapeMrkdwn } from './views/mrkdwn.js';
import { buildAnnouncement, buildOverrunNote } from './views/announcement.js';
import { buildHandedBackReply } from './views/handed-back-reply.js';
import { buildRetryReply } from './views/retry-reply.js';
import type { SlackMessage } from './views/block-kit.js';
import { buildRunMessage } from './views/run-message.js';
import { buildStepReply } from './views/step-reply.js';
import type { AnnouncementView, DowntimeEstimate, RestoreAnnouncement, RunView, StepView } from './views/view-models.js';

/** Edits of the run message for progress alone (a running copy's counts) come at most this often. */
const PROGRESS_EDIT_MS = 10_000;

/** How a run ended, for the final edit; `summary` builds the last thread reply from the run as reported. */
export interface RunOutcome {
  phase: RunPhase;
  error?: string;
  summary: (run: RunView) => SlackMessage;
}

/**
 * Turns a run's events into Slack: the ops-channel message edited in place as a checklist (edits coalesced to at
 * most one per `minUpdateIntervalMs`, within chat.update's rate limit), a thread reply per finished step or undo,
 * the final summary, and the users'-channel announcement — posted when the pause starts with the estimated end,
 * revised if the estimate is exceeded, and edited when the cluster is back. A restore is announced from its
 * start, saying which moment users get back, and its announcement ends as restored-beside or failed when it
 * never paused the cluster.
 *
 * Announcements are driven by events rather than being steps of the backup, so the backup engine stays free of
 * Slack and a Slack outage never fails a backup: failures to post are logged and the run goes on.
 */
export function createRunReporter(options: {
  client: WebClient;
  /** The run's ops-channel message; without `ts`, `post()` posts it. */
  target: Omit<SlackRunTarget, 'ts'> & { ts?: string };
  cluster: ClusterConfig;
  run: { id: string; kind: 'backup' | 'restore'; requestedBy: string; approvedBy?: string[]; note?: string; estimate?: DowntimeEstimate; createdAt: string; restore?: RestoreAnnouncement };
  plan: PlannedStep[];
  /** The announcement an earlier attempt of this run posted, edited rather than posted again. */
  announcement?: PostedAnnouncement;
  /** Told where the announcement is (and since when the cluster is paused) as it changes, for a later attempt. */
  onAnnounced?: (posted: PostedAnnouncement) => void;
  events: RunEvents;
  log: Logger;
  fallbackZone?: string;
  minUpdateIntervalMs?: number;
  overrunCheckMs?: number;
}) {
  const { client, target, cluster, run, log } = options;
  let ts = target.ts;
  const zone = options.fallbackZone ?? 'UTC';
  const minInterval = options.minUpdateIntervalMs ?? 1500;
  const view: RunView = {
    id: run.id,
    kind: run.kind,
    cluster: cluster.name,
    clusterDisplayName: cluster.displayName,
    requestedBy: run.requestedBy,
    ...(run.approvedBy ? { approvedBy: run.approvedBy } : {}),
    ...(run.note ? { note: run.note } : {}),
    phase: 'queued',
    steps: options.plan.map((s): StepView => ({ name: s.name, title: s.title, state: 'pending', downtime: s.downtime ?? false })),
    startedAt: run.createdAt,
    ...(run.estimate ? { estimate: run.estimate } : {}),
    warnings: [],
  };
  const stepOf = (name: string) => view.steps.find((s) => s.name === name);
  let lastProgressEdit = 0;
  /** Every Slack call, one at a time and in order, so replies and edits never overtake each other. */
  let chain: Promise<unknown> = Promise.resolve();
  const enqueue = (what: string, call: () => Promise<unknown>) => {
    chain = chain.then(call).catch((err: unknown) => log.warn({ err, what }, 'Slack call failed; the run goes on'));
    return chain;
  };

  let lastUpdate = 0;
  let pendingUpdate: NodeJS.Timeout | undefined;
  const updateMessage = () => {
    const message = buildRunMessage(view);
    lastUpdate = Date.now();
    return enqueue('chat.update', async () => {
      if (ts) await client.chat.update({ channel: target.channel, ts, text: message.text, blocks: message.blocks });
    });
  };
  const scheduleUpdate = () => {
    if (pendingUpdate) return;
    pendingUpdate = setTimeout(() => {
      pendingUpdate = undefined;
      void updateMessage();
    }, Math.max(0, lastUpdate + minInterval - Date.now()));
  };
  const reply = (message: { text: string; blocks: unknown[] }) =>
    enqueue('chat.postMessage', async () => {
      if (ts) await client.chat.postMessage({ channel: target.channel, thread_ts: ts, text: message.text, blocks: message.blocks as never });
    });

  // The announcement in the users' channel.
  let announcement: PostedAnnouncement | undefined = options.announcement;
  let announced: AnnouncementView | undefined;
  let overrunTimer: NodeJS.Timeout | undefined;
  // A backup is announced only with an estimate to give; a restore always is (users must know what they get back).
  const announces = target.announceChannel !== undefined && (run.estimate !== undefined || run.restore !== undefined);
  const announce = (next: AnnouncementView, threadNote?: string) => {
    if (!announces) return;
    announced = next;
    const message = buildAnnouncement(next);
    // "Still paused" keeps the pause's start too: a later attempt that brings the cluster back ends it with the downtime.
    const pausedSince = next.state === 'paused' || next.state === 'overrun' || next.state === 'still-paused' ? next.startsAt : undefined;
    const metadata = announcementMetadata(run.id, { state: next.state, ...(pausedSince ? { pausedAt: pausedSince } : {}) });
    enqueue('announcement', async () => {
      if (!announcement) {
        const posted = await client.chat.postMessage({ channel: target.announceChannel!, text: message.text, blocks: message.blocks, metadata });
        announcement = { channel: posted.channel ?? target.announceChannel!, ts: posted.ts! };
      } else {
        await client.chat.update({ channel: announcement.channel, ts: announcement.ts, text: message.text, blocks: message.blocks, metadata });
        if (threadNote) await client.chat.postMessage({ channel: announcement.channel, thread_ts: announcement.ts, text: threadNote });
      }
      options.onAnnounced?.({ channel: announcement.channel, ts: announcement.ts, state: next.state, ...(pausedSince ? { pausedAt: pausedSince } : {}) });
    });
  };
  const baseAnnouncement = (state: AnnouncementView['state'], startsAt: string): AnnouncementView => ({
    cluster: cluster.name,
    clusterDisplayName: cluster.displayName,
    state,
    startsAt,
    ...(run.estimate ? { estimate: run.estimate } : {}),
    fallbackZone: zone,
    ...(run.restore ? { restore: { ...run.restore, ...(stepOf('swap-databases')?.state === 'done' ? { replaced: true } : {}) } } : {}),
  });
  /** Past the high end of the estimate and still paused: post a revised end (what is left of the estimate, at least a minute). */
  const checkOverrun = () => {
    if (!view.pausedAt || view.downtimeSeconds !== undefined && view.steps.find((s) => s.name === 'resume')?.state === 'done') return;
    const elapsed = (Date.now() - Date.parse(view.pausedAt)) / 1000;
    view.downtimeSeconds = elapsed; // "paused for N so far" in the checklist
    scheduleUpdate();
    if (!announced || !run.estimate || announced.state !== 'paused' && announced.state !== 'overrun') return;
    const due = announced.state === 'overrun' && announced.revisedEndAt ? Date.parse(announced.revisedEndAt) : Date.parse(view.pausedAt) + run.estimate!.highSeconds * 1000;
    if (Date.now() < due) return;
    const remaining = (run.estimate!.perStep ?? []).filter((p) => stepOf(p.step)?.state === 'pending' || stepOf(p.step)?.state === 'running').reduce((n, p) => n + p.expectedSeconds, 0);
    const revisedEndAt = new Date(Date.now() + Math.max(60, remaining) * 1000).toISOString();
    announce({ ...baseAnnouncement('overrun', view.pausedAt), revisedEndAt }, buildOverrunNote({ pausedSeconds: elapsed, revisedEndAt, fallbackZone: zone }));
  };

  /** The cluster is paused since `at`: watched for overrunning the estimate until it is back. */
  const pausedSince = (at: string) => {
    view.pausedAt = at;
    overrunTimer = setInterval(checkOverrun, options.overrunCheckMs ?? 5000);
    overrunTimer.unref();
  };
  /** Why the run's changes are being undone, once they are: an operator's cancel is told to users as such. */
  let undoCause: UndoCause | undefined;
  /** The cluster is back at `at` (resumed, or the pause undone): the real downtime, and the all-clear. */
  const back = (state: 'back' | 'failed-back', at: string) => {
    view.downtimeSeconds = (Date.parse(at) - Date.parse(view.pausedAt!)) / 1000;
    clearInterval(overrunTimer);
    announce({ ...baseAnnouncement(state, view.pausedAt!), actualSeconds: view.downtimeSeconds, ...(state === 'failed-back' && undoCause === 'cancel' ? { cancelled: true } : {}) });
  };
  /** The run is over (or its pause could not be undone) and the cluster did not come back: users must not wait for "back around …". */
  const stillPaused = (cancelled: boolean) => {
    clearInterval(overrunTimer);
    announce({ ...baseAnnouncement('still-paused', view.pausedAt!), ...(cancelled ? { cancelled } : {}) });
  };
  const pausedAnnounced = () => announced !== undefined && (announced.state === 'paused' || announced.state === 'overrun');
  /** On-call's alert in the ops channel while the cluster does not come back. */
  const notBack = createNotBackAlert({ client, cluster, channel: cluster.slack?.opsChannel ?? target.channel, runId: run.id, kind: run.kind, enqueue, log });

  const onEvent = (e: RunEvent) => {
    switch (e.type) {
      case 'run-phase':
        view.phase = e.phase;
        scheduleUpdate();
        break;
      case 'step-started': {
        const step = stepOf(e.step);
        if (step) step.state = 'running';
        // A restore tells users once it really starts (one refused before its first step, e.g. a busy cluster, does not).
        if (run.restore && !announced) announce(baseAnnouncement('restoring', run.createdAt));
        if (e.step === 'pause') {
          announce(baseAnnouncement('paused', e.at));
          pausedSince(e.at);
        }
        scheduleUpdate();
        break;
      }
      case 'step-progress': {
        // Retries are told only when they last (the runner's digest); other progress stays in the checklist's edits.
        if (e.progress.retry) void reply(buildRetryReply({ stepTitle: stepOf(e.step)?.title ?? e.step, message: e.progress.message ?? '', recovered: e.progress.retry.recovered }));
        // The resume retrying for long (pachd not ready, Kubernetes refusing it): the cluster is not back.
        if (e.step === 'resume' && e.progress.retry && !e.progress.retry.recovered) notBack.raise('pachd-not-ready', e.progress.retry.error ?? e.progress.message ?? 'the resume keeps failing');
        // Progress alone edits the message at most every PROGRESS_EDIT_MS: a long copy must not flood Slack.
        const step = stepOf(e.step);
        if (!step || step.state !== 'running') break;
        step.progress = e.progress;
        if (Date.now() - lastProgressEdit < PROGRESS_EDIT_MS) break;
        lastProgressEdit = Date.now();
        scheduleUpdate();
        break;
      }
      case 'step-finished': {
        const step = stepOf(e.step);
        if (step) {
          Object.assign(step, { state: e.state, durationMs: e.durationMs, sizes: e.sizes, ...(e.summary ? { summary: e.summary } : {}) });
          void reply(buildStepReply(step));
        }
        if (e.step === 'resume' && view.pausedAt) back('back', e.at);
        if (e.step === 'resume') notBack.resolve();
        scheduleUpdate();
        break;
      }
      case 'step-failed': {
        const step = stepOf(e.step);
        if (step) {
          Object.assign(step, { state: 'failed', durationMs: e.durationMs, error: e.error });
          void reply(buildStepReply(step));
        }
        scheduleUpdate();
        break;
      }
      case 'undo-started':
        undoCause = e.cause;
        break;
      case 'undo-retrying':
        {
          const text = `⚠️ Undoing *${escapeMrkdwn(e.title)}* failed (attempt ${e.attempt} of ${e.attempts}): ${escapeAndTruncate(e.error, 2500)}. Trying again.`;
          void reply({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
        }
        if (e.step !== 'pause') break;
        // Resuming is refused: users and on-call hear it now, not after every attempt ran out; the attempts go on.
        if (view.pausedAt && pausedAnnounced()) stillPaused(undoCause === 'cancel');
        notBack.raise('resume-refused', `resuming failed (attempt ${e.attempt} of ${e.attempts}): ${e.error}`);
        break;
      case 'undo-finished': {
        const step = stepOf(e.step);
        if (step) {
          step.state = e.state;
          if (e.state === 'undo-failed' && e.error) step.error = e.error;
          void reply(buildStepReply(step));
        }
        if (e.step === 'pause' && view.pausedAt && e.state === 'undone') back('failed-back', e.at);
        if (e.step === 'pause' && view.pausedAt && e.state === 'undo-failed' && pausedAnnounced()) stillPaused(undoCause === 'cancel');
        if (e.step === 'pause' && e.state === 'undone') notBack.resolve();
        if (e.step === 'pause' && e.state === 'undo-failed') notBack.raise('resume-gave-up', e.error ?? 'resuming failed');
        scheduleUpdate();
        break;
      }
      case 'run-picked-up': {
        for (const done of e.done) {
          const step = stepOf(done.step);
          if (step) step.state = 'done';
        }
        // An earlier attempt resumed the cluster but died before the announcement said so: say it now.
        const resumed = e.done.find((d) => d.step === 'resume');
        const saysPaused = announced !== undefined && (announced.state === 'paused' || announced.state === 'overrun' || announced.state === 'still-paused');
        if (resumed && view.pausedAt && saysPaused) back('back', resumed.finishedAt ?? e.at);
        scheduleUpdate();
        break;
      }
      case 'run-handed-back':
        view.phase = 'queued';
        void reply(buildHandedBackReply({ kind: run.kind, reason: e.reason }));
        scheduleUpdate();
        break;
      case 'run-finished':
        view.phase = e.phase;
        view.finishedAt = e.at;
        if (e.error) view.error = e.error;
        view.warnings = e.warnings;
        if (e.downtimeSeconds !== undefined) view.downtimeSeconds = e.downtimeSeconds;
        break;
    }
  };
  // Picked up after a dead worker: carry on from what the announcement says. With the cluster paused, the pause
  // step is skipped (done), so its start comes from the announcement — the all-clear then gives the whole downtime.
  const carryOn = (earlier: PostedAnnouncement) => {
    if (!earlier.state) return;
    const paused = earlier.pausedAt !== undefined && (earlier.state === 'paused' || earlier.state === 'overrun' || earlier.state === 'still-paused');
    if (paused) pausedSince(earlier.pausedAt!);
    announced = baseAnnouncement(earlier.state, earlier.pausedAt ?? run.createdAt);
  };
  if (options.announcement) carryOn(options.announcement);
  else if (announces) {
    // None recorded: an attempt killed between posting it and recording it may have left one. It carries the run's
    // id in its metadata; found, it is adopted (edited, not posted again), before any event of this attempt posts.
    enqueue('conversations.history', async () => {
      const found = await findAnnouncement(client, target.announceChannel!, run.id, run.createdAt);
      if (!found || announcement) return;
      announcement = found;
      if (!announced && !view.pausedAt) carryOn(found);
      options.onAnnounced?.(found);
      log.info({ announcement: found }, 'adopted the announcement an earlier attempt posted');
    });
  }
  const unsubscribe = options.events.subscribe(onEvent);

  return {
    /**
     * Posts the run message when the target has none yet (a restore's, once approved) and answers where it is;
     * undefined when Slack refused it (the run goes on, unreported).
     */
    async post(): Promise<{ channel: string; ts: string } | undefined> {
      if (!ts) {
        const message = buildRunMessage(view);
        await enqueue('chat.postMessage', async () => {
          ts = (await client.chat.postMessage({ channel: target.channel, text: message.text, blocks: message.blocks })).ts;
        });
      }
      return ts ? { channel: target.channel, ts } : undefined;
    },

    /** Puts a file (a restore's rendered Helm values) in the run's thread. */
    async attach(file: { filename: string; title: string; content: string; comment: string }): Promise<void> {
      await enqueue('files.uploadV2', async () => {
        if (ts) await client.files.uploadV2({ channel_id: target.channel, thread_ts: ts, filename: file.filename, title: file.title, content: file.content, initial_comment: file.comment });
      });
    },

    /** A run handed back to the queue: the last edit (back to queued) and the thread reply are sent; resolves when Slack has them. */
    async handedBack(): Promise<void> {
      unsubscribe();
      clearInterval(overrunTimer);
      if (pendingUpdate) clearTimeout(pendingUpdate);
      pendingUpdate = undefined;
      await updateMessage();
      await chain;
    },

    /** A restore's last announcement, the final edit and the summary reply; resolves when Slack has them. */
    async finish(outcome: RunOutcome): Promise<void> {
      unsubscribe();
      clearInterval(overrunTimer);
      if (pendingUpdate) clearTimeout(pendingUpdate);
      pendingUpdate = undefined;
      view.phase = outcome.phase;
      if (outcome.error) view.error = outcome.error;
      // A restore that never paused the cluster: its result waits beside it, or nothing changed.
      if (run.restore && announced?.state === 'restoring') {
        const ok = outcome.phase === 'succeeded' || outcome.phase === 'partially-failed';
        announce({ ...baseAnnouncement(ok && !run.restore.switches ? 'restored' : 'failed', run.createdAt), ...(outcome.phase === 'cancelled' ? { cancelled: true } : {}) });
      }
      // Users were told it is paused and when it would be back, and it never came back: say so.
      if (view.pausedAt && pausedAnnounced()) stillPaused(outcome.phase === 'cancelled');
      await updateMessage();
      // The summary comes last: once it is in the thread, the run's messages are final.
      await reply(outcome.summary(view));
      await chain;
    },
  };
}
