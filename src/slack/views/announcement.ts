import { formatDuration } from '../../format-units.js';
import { type SlackMessage, context, messageText, section } from './block-kit.js';
import { describeEstimate, formatEstimateRange, formatEstimateSeconds } from './downtime-text.js';
import { escapeAndTruncate } from './mrkdwn.js';
import { SLACK_DATE_TIME, SLACK_TIME, addSeconds, slackDate } from './time-text.js';
import type { AnnouncementView, DowntimeEstimate } from './view-models.js';

export { slackDate } from './time-text.js';

/**
 * The users'-channel announcement of an outage, one message edited through its states: a heads-up before a
 * scheduled backup (`upcoming`), the pause (`paused`), a revised ETA when the estimate is exceeded (`overrun`),
 * and the all-clear (`back`, or `failed-back` when the operation failed or was cancelled but Pachyderm is back) — or,
 * when resuming failed, that it is still paused and the team is on it (`still-paused`). An operator's cancel is told
 * as a cancel, not as a failure the team must look into. A restore also
 * says it started (`restoring`), and — when it does not pause the cluster — that its result waits beside it
 * (`restored`) or that it failed with nothing changed (`failed`); every restore message says which moment users
 * get back, since anything saved after the backup is not in it. Written for the people whose pipelines wait —
 * data scientists — so no Kubernetes words. Every time is a Slack date token, so each reader sees their own
 * local time; the token fallbacks are in `fallbackZone`.
 */
export function buildAnnouncement(view: AnnouncementView): SlackMessage {
  const [line, detail] = view.restore ? restoreLines(view) : backupLines(view);
  return { text: messageText(line), blocks: [section(line), context(detail)] };
}

type Lines = [line: string, detail: string];

function words(view: AnnouncementView) {
  const at = (iso: string) => slackDate(iso, SLACK_DATE_TIME, view.fallbackZone);
  const e: DowntimeEstimate | undefined = view.estimate;
  return {
    name: `*${escapeAndTruncate(view.clusterDisplayName, 200)}*`,
    at,
    /** "for about 4 min (3–5 min)", or nothing without an estimate. */
    duration: e ? `for ${describeEstimate(e)}` : '',
    /** "estimated 3–5 min". */
    range: e ? `estimated ${formatEstimateRange(e.lowSeconds, e.highSeconds)}` : '',
    /** " Expected back around T (estimated 3–5 min)." */
    expectedBack: (withRange: boolean) => (e ? ` Expected back around ${at(addSeconds(view.startsAt, e.expectedSeconds))}${withRange ? ` (estimated ${formatEstimateRange(e.lowSeconds, e.highSeconds)})` : ''}.` : ''),
    revisedBack: ` Now expected back around ${at(view.revisedEndAt ?? addSeconds(view.startsAt, e?.highSeconds ?? 0))}.`,
    paused: (suffix: string) => (view.actualSeconds !== undefined ? `paused ${formatDuration(view.actualSeconds * 1000)}${suffix}` : ''),
    estimated: e ? `estimated ${formatEstimateSeconds(e.expectedSeconds)}` : '',
  };
}

function backupLines(view: AnnouncementView): Lines {
  const w = words(view);
  switch (view.state) {
    case 'upcoming':
      return [
        `📣 Heads-up: Pachyderm ${w.name} will pause for a backup at ${w.at(view.startsAt)}${w.duration ? `, ${w.duration}` : ''}.${w.expectedBack(false)}`,
        'Pipelines and uploads will wait while it is paused and carry on by themselves afterwards; nothing is lost.',
      ];
    case 'overrun':
      return [
        `⏳ The backup of Pachyderm ${w.name} is taking longer than estimated (paused since ${w.at(view.startsAt)}${w.range ? `, ${w.range}` : ''}).${w.revisedBack}`,
        'Pipelines and uploads still wait until then. We will post here as soon as it is back.',
      ];
    case 'back':
      return [`✅ Pachyderm ${w.name} is back${parenthesized(w.paused(w.estimated ? ', ' : ''), w.estimated)}.`, 'Pipelines and uploads carry on from where they were.'];
    case 'failed-back':
    case 'failed':
      return view.cancelled
        ? [`🛑 The backup of Pachyderm ${w.name} was cancelled; Pachyderm is back${parenthesized(w.paused(''))}.`, 'Pipelines and uploads carry on as usual. Nothing for you to do.']
        : [`⚠️ The backup of Pachyderm ${w.name} failed, but Pachyderm is back${parenthesized(w.paused(''))}.`, 'Pipelines and uploads carry on as usual. Nothing for you to do; the team is looking into it.'];
    case 'still-paused':
      return [
        `⚠️ Pachyderm ${w.name} is still paused: the backup ${view.cancelled ? 'was cancelled' : 'failed'} and resuming Pachyderm did not work. The team is on it.`,
        'Pipelines and uploads wait until Pachyderm is back; nothing is lost.',
      ];
    case 'paused':
    default:
      return [`⏸️ Pachyderm ${w.name} is paused for a backup since ${w.at(view.startsAt)}.${w.expectedBack(true)}`, 'Pipelines and uploads wait until then and carry on by themselves afterwards.'];
  }
}

function restoreLines(view: AnnouncementView): Lines {
  const w = words(view);
  const restore = view.restore!;
  const taken = w.at(restore.backupTakenAt);
  const lost = `Anything saved to Pachyderm after ${taken} — commits, uploads, pipeline changes — is not in it: re-upload or re-run what you need afterwards.`;
  switch (view.state) {
    case 'restoring':
      return restore.switches
        ? [
            `🛠️ Pachyderm ${w.name} is being restored to its state of ${taken}. Once the data is ready it will pause${w.duration ? ` ${w.duration}` : ''}; we will post here when it does.`,
            lost,
          ]
        : [
            `🛠️ The backup of Pachyderm ${w.name} taken ${taken} is being restored beside it. Pachyderm keeps running as usual.`,
            'Nothing changes for you yet. We will post here before Pachyderm is switched over to the restored data.',
          ];
    case 'paused':
    case 'upcoming':
      return [`⏸️ Pachyderm ${w.name} is paused since ${w.at(view.startsAt)} while its data is replaced by the backup of ${taken}.${w.expectedBack(true)}`, `Pipelines and uploads wait until then. ${lost}`];
    case 'overrun':
      return [
        `⏳ The restore of Pachyderm ${w.name} is taking longer than estimated (paused since ${w.at(view.startsAt)}${w.range ? `, ${w.range}` : ''}).${w.revisedBack}`,
        'Pipelines and uploads still wait until then. We will post here as soon as it is back.',
      ];
    case 'back':
      return [`✅ Pachyderm ${w.name} is back, restored to its state of ${taken}${parenthesized(w.paused(w.estimated ? ', ' : ''), w.estimated)}.`, lost];
    case 'failed-back':
      if (view.cancelled) {
        return restore.replaced
          ? [`🛑 The restore of Pachyderm ${w.name} was cancelled after its data was replaced; Pachyderm is back${parenthesized(w.paused(''))} on its state of ${taken}.`, lost]
          : [`🛑 The restore of Pachyderm ${w.name} was cancelled; Pachyderm is back on its data from before${parenthesized(w.paused(''))}. Nothing was replaced.`, 'Pipelines and uploads carry on as usual.'];
      }
      return restore.replaced
        ? [`⚠️ The restore of Pachyderm ${w.name} hit a problem after its data was replaced; Pachyderm is back${parenthesized(w.paused(''))} on its state of ${taken}.`, `The team is checking it. ${lost}`]
        : [`⚠️ The restore of Pachyderm ${w.name} failed, but Pachyderm is back on its data from before${parenthesized(w.paused(''))}. Nothing was replaced.`, 'Pipelines and uploads carry on as usual; the team is looking into it.'];
    case 'still-paused':
      return [
        `⚠️ Pachyderm ${w.name} is still paused: the restore ${view.cancelled ? 'was cancelled' : 'failed'} and resuming Pachyderm did not work. The team is on it.`,
        `Pipelines and uploads wait until Pachyderm is back.${restore.replaced ? ` ${lost}` : ''}`,
      ];
    case 'restored':
      return [
        `✅ The backup of Pachyderm ${w.name} taken ${taken} is restored beside it. Pachyderm keeps running on its current data for now.`,
        'Nothing changes for you yet. We will post here before Pachyderm is switched over to the restored data.',
      ];
    case 'failed':
      return view.cancelled
        ? [`🛑 The restore of Pachyderm ${w.name} was cancelled before it changed anything: Pachyderm runs on its data as before.`, 'Nothing for you to do.']
        : [`⚠️ The restore of Pachyderm ${w.name} did not complete. Nothing changed for you: Pachyderm runs on its data as before.`, 'The team is looking into it.'];
  }
}

/**
 * The thread reply under an announcement when the outage outlasts its estimate: how long it has been paused and the
 * new expected end, as a date token (each reader's local time; the fallback in `fallbackZone`).
 */
export function buildOverrunNote(view: { pausedSeconds: number; revisedEndAt: string; fallbackZone: string }): string {
  return `Taking longer than estimated (paused ${formatDuration(Math.round(view.pausedSeconds) * 1000)} so far). New estimate: back around ${slackDate(view.revisedEndAt, SLACK_TIME, view.fallbackZone)}.`;
}

/** " (a, b)" of the non-empty parts, or nothing. */
function parenthesized(...parts: string[]): string {
  const text = parts.join('');
  return text ? ` (${text})` : '';
}
