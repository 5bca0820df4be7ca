import type { WebClient } from '@slack/web-api';
import type { BackupResult } from '../backup/run-backup.js';
import type { ClusterConfig } from '../config/config.js';
import type { SlackRunTarget } from '../jobs/operations-queue.js';
import type { Logger } from '../log.js';
import type { RunEvent, RunEvents } from '../runner/run-event.js';
import { buildAnnouncement } from './views/announcement.js';
import { buildRunMessage } from './views/run-message.js';
import { buildRunSummary } from './views/run-summary.js';
import { buildStepReply } from './views/step-reply.js';
import type { AnnouncementView, DowntimeEstimate, RunView, StepView } from './views/view-models.js';

/** A step of the plan, as the checklist lists it before it runs. */
export interface PlannedStep {
  name: string;
  title: string;
  downtime?: boolean;
}

/**
 * Turns a run's events into Slack: the ops-channel message edited in place as a checklist (edits coalesced to at
 * most one per `minUpdateIntervalMs`, within chat.update's rate limit), a thread reply per finished step or undo,
 * the final summary, and the users'-channel announcement — posted when the pause starts with the estimated end,
 * revised if the estimate is exceeded, and edited when the cluster is back.
 *
 * Announcements are driven by events rather than being steps of the backup, so the backup engine stays free of
 * Slack and a Slack outage never fails a backup: failures to post are logged and the run goes on.
 */
export function createRunReporter(options: {
  client: WebClient;
  target: SlackRunTarget;
  cluster: ClusterConfig;
  run: { id: string; kind: 'backup'; requestedBy: string; note?: string; estimate?: DowntimeEstimate; createdAt: string };
  plan: PlannedStep[];
  events: RunEvents;
  log: Logger;
  fallbackZone?: string;
  minUpdateIntervalMs?: number;
  overrunCheckMs?: number;
}) {
  const { client, target, cluster, run, log } = options;
  const zone = options.fallbackZone ?? 'UTC';
  const minInterval = options.minUpdateIntervalMs ?? 1500;
  const view: RunView = {
    id: run.id,
    kind: run.kind,
    cluster: cluster.name,
    clusterDisplayName: cluster.displayName,
    requestedBy: run.requestedBy,
    ...(run.note ? { note: run.note } : {}),
    phase: 'queued',
    steps: options.plan.map((s): StepView => ({ name: s.name, title: s.title, state: 'pending', downtime: s.downtime ?? false })),
    startedAt: run.createdAt,
    ...(run.estimate ? { estimate: run.estimate } : {}),
    warnings: [],
  };
  const stepOf = (name: string) => view.steps.find((s) => s.name === name);
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
    return enqueue('chat.update', () => client.chat.update({ channel: target.channel, ts: target.ts, text: message.text, blocks: message.blocks }));
  };
  const scheduleUpdate = () => {
    if (pendingUpdate) return;
    pendingUpdate = setTimeout(() => {
      pendingUpdate = undefined;
      void updateMessage();
    }, Math.max(0, lastUpdate + minInterval - Date.now()));
  };
  const reply = (message: { text: string; blocks: unknown[] }) =>
    enqueue('chat.postMessage', () => client.chat.postMessage({ channel: target.channel, thread_ts: target.ts, text: message.text, blocks: message.blocks as never }));

  // The announcement in the users' channel.
  let announcement: { channel: string; ts: string } | undefined;
  let announced: AnnouncementView | undefined;
  let overrunTimer: NodeJS.Timeout | undefined;
  const announce = (next: AnnouncementView, threadNote?: string) => {
    if (!target.announceChannel || !run.estimate) return;
    announced = next;
    const message = buildAnnouncement(next);
    enqueue('announcement', async () => {
      if (!announcement) {
        const posted = await client.chat.postMessage({ channel: target.announceChannel!, text: message.text, blocks: message.blocks });
        announcement = { channel: posted.channel ?? target.announceChannel!, ts: posted.ts! };
      } else {
        await client.chat.update({ channel: announcement.channel, ts: announcement.ts, text: message.text, blocks: message.blocks });
        if (threadNote) await client.chat.postMessage({ channel: announcement.channel, thread_ts: announcement.ts, text: threadNote });
      }
    });
  };
  const baseAnnouncement = (state: AnnouncementView['state'], startsAt: string): AnnouncementView => ({
    cluster: cluster.name,
    clusterDisplayName: cluster.displayName,
    state,
    startsAt,
    estimate: run.estimate!,
    fallbackZone: zone,
  });
  /** Past the high end of the estimate and still paused: post a revised end (what is left of the estimate, at least a minute). */
  const checkOverrun = () => {
    if (!view.pausedAt || view.downtimeSeconds !== undefined && view.steps.find((s) => s.name === 'resume')?.state === 'done') return;
    const elapsed = (Date.now() - Date.parse(view.pausedAt)) / 1000;
    view.downtimeSeconds = elapsed; // "paused for N so far" in the checklist
    scheduleUpdate();
    if (!announced || announced.state === 'back' || announced.state === 'failed-back') return;
    const due = announced.state === 'overrun' && announced.revisedEndAt ? Date.parse(announced.revisedEndAt) : Date.parse(view.pausedAt) + run.estimate!.highSeconds * 1000;
    if (Date.now() < due) return;
    const remaining = (run.estimate!.perStep ?? []).filter((p) => stepOf(p.step)?.state === 'pending' || stepOf(p.step)?.state === 'running').reduce((n, p) => n + p.expectedSeconds, 0);
    const revisedEndAt = new Date(Date.now() + Math.max(60, remaining) * 1000).toISOString();
    announce({ ...baseAnnouncement('overrun', view.pausedAt), revisedEndAt }, `Taking longer than estimated (paused ${Math.round(elapsed)} s so far). New estimate: back around <!date^${Math.round(Date.parse(revisedEndAt) / 1000)}^{time}|${revisedEndAt}>.`);
  };

  const onEvent = (e: RunEvent) => {
    switch (e.type) {
      case 'run-phase':
        view.phase = e.phase;
        scheduleUpdate();
        break;
      case 'step-started': {
        const step = stepOf(e.step);
        if (step) step.state = 'running';
        if (e.step === 'pause') {
          view.pausedAt = e.at;
          announce(baseAnnouncement('paused', e.at));
          overrunTimer = setInterval(checkOverrun, options.overrunCheckMs ?? 5000);
          overrunTimer.unref();
        }
        scheduleUpdate();
        break;
      }
      case 'step-progress':
        break;
      case 'step-finished': {
        const step = stepOf(e.step);
        if (step) {
          Object.assign(step, { state: e.state, durationMs: e.durationMs, sizes: e.sizes, ...(e.summary ? { summary: e.summary } : {}) });
          void reply(buildStepReply(step));
        }
        if (e.step === 'resume' && view.pausedAt) {
          view.downtimeSeconds = (Date.parse(e.at) - Date.parse(view.pausedAt)) / 1000;
          clearInterval(overrunTimer);
          announce({ ...baseAnnouncement('back', view.pausedAt), actualSeconds: view.downtimeSeconds });
        }
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
        break;
      case 'undo-finished': {
        const step = stepOf(e.step);
        if (step) {
          step.state = e.state;
          if (e.state === 'undo-failed' && e.error) step.error = e.error;
          void reply(buildStepReply(step));
        }
        if (e.step === 'pause' && view.pausedAt && e.state === 'undone') {
          view.downtimeSeconds = (Date.parse(e.at) - Date.parse(view.pausedAt)) / 1000;
          clearInterval(overrunTimer);
          announce({ ...baseAnnouncement('failed-back', view.pausedAt), actualSeconds: view.downtimeSeconds });
        }
        scheduleUpdate();
        break;
      }
      case 'run-finished':
        view.phase = e.phase;
        view.finishedAt = e.at;
        if (e.error) view.error = e.error;
        view.warnings = e.warnings;
        if (e.downtimeSeconds !== undefined) view.downtimeSeconds = e.downtimeSeconds;
        break;
    }
  };
  const unsubscribe = options.events.subscribe(onEvent);

  return {
    /** The final edit and the summary reply; resolves when Slack has them. */
    async finish(result: BackupResult): Promise<void> {
      unsubscribe();
      clearInterval(overrunTimer);
      if (pendingUpdate) clearTimeout(pendingUpdate);
      pendingUpdate = undefined;
      view.phase = result.status;
      if (result.error) view.error = result.error;
      await updateMessage();
      const copySeconds = ['pre-copy', 'delta-copy'].reduce((n, s) => n + (stepOf(s)?.durationMs ?? 0), 0) / 1000;
      await reply(
        buildRunSummary({
          id: result.id,
          cluster: result.cluster,
          phase: result.status,
          ...(result.error ? { error: result.error } : {}),
          warnings: result.warnings,
          downtimeSeconds: result.downtimeSeconds,
          ...(run.estimate ? { estimate: run.estimate } : {}),
          objects: result.objects,
          bytes: result.bytes,
          copySeconds,
          databases: result.databases.map((d) => ({ name: d.name, bytes: d.bytes })),
          ...(result.verified !== undefined ? { verified: result.verified } : {}),
        }),
      );
      await chain;
    },
  };
}
