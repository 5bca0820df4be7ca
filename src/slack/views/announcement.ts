import { formatDuration } from '../../format-units.js';
import { type SlackMessage, context, messageText, section } from './block-kit.js';
import { describeEstimate, formatEstimateRange, formatEstimateSeconds } from './downtime-text.js';
import { escapeAndTruncate } from './mrkdwn.js';
import { SLACK_DATE_TIME, addSeconds, slackDate } from './time-text.js';
import type { AnnouncementView } from './view-models.js';

export { slackDate } from './time-text.js';

/**
 * The users'-channel announcement of an outage, one message edited through its states: a heads-up before a
 * scheduled backup (`upcoming`), the pause (`paused`), a revised ETA when the estimate is exceeded (`overrun`),
 * and the all-clear (`back`, or `failed-back` when the backup failed but Pachyderm is back). Written for the
 * people whose pipelines wait — data scientists — so no Kubernetes words. Every time is a Slack date token, so
 * each reader sees their own local time; the token fallbacks are in `fallbackZone`.
 */
export function buildAnnouncement(view: AnnouncementView): SlackMessage {
  const name = `*${escapeAndTruncate(view.clusterDisplayName, 200)}*`;
  const at = (iso: string) => slackDate(iso, SLACK_DATE_TIME, view.fallbackZone);
  const estimate = describeEstimate(view.estimate);
  const range = formatEstimateRange(view.estimate.lowSeconds, view.estimate.highSeconds);
  const expectedEnd = addSeconds(view.startsAt, view.estimate.expectedSeconds);
  let line: string;
  let detail: string;
  switch (view.state) {
    case 'upcoming':
      line = `📣 Heads-up: Pachyderm ${name} will pause for a backup at ${at(view.startsAt)}, for ${estimate}. Expected back around ${at(expectedEnd)}.`;
      detail = 'Pipelines and uploads will wait while it is paused and carry on by themselves afterwards; nothing is lost.';
      break;
    case 'paused':
      line = `⏸️ Pachyderm ${name} is paused for a backup since ${at(view.startsAt)}. Expected back around ${at(expectedEnd)} (estimated ${range}).`;
      detail = 'Pipelines and uploads wait until then and carry on by themselves afterwards.';
      break;
    case 'overrun': {
      const revised = view.revisedEndAt ?? addSeconds(view.startsAt, view.estimate.highSeconds);
      line = `⏳ The backup of Pachyderm ${name} is taking longer than estimated (paused since ${at(view.startsAt)}, estimated ${range}). Now expected back around ${at(revised)}.`;
      detail = 'Pipelines and uploads still wait until then. We will post here as soon as it is back.';
      break;
    }
    case 'back': {
      const paused = view.actualSeconds !== undefined ? `paused ${formatDuration(view.actualSeconds * 1000)}, ` : '';
      line = `✅ Pachyderm ${name} is back (${paused}estimated ${formatEstimateSeconds(view.estimate.expectedSeconds)}).`;
      detail = 'Pipelines and uploads carry on from where they were.';
      break;
    }
    case 'failed-back': {
      const paused = view.actualSeconds !== undefined ? ` (paused ${formatDuration(view.actualSeconds * 1000)})` : '';
      line = `⚠️ The backup of Pachyderm ${name} failed, but Pachyderm is back${paused}.`;
      detail = 'Pipelines and uploads carry on as usual. Nothing for you to do; the team is looking into it.';
      break;
    }
  }
  return { text: messageText(line), blocks: [section(line), context(detail)] };
}
