import { SLASH_COMMAND } from '../slack-ids.js';
import type { SlackMessage } from './block-kit.js';
import { usageError } from './help.js';
import { codeSpan, escapeMrkdwn, formatRequester } from './mrkdwn.js';
import { SLACK_DATE_TIME, fallbackDate, formatAge, slackDate } from './time-text.js';

/** The operation holding a cluster, as its lock names it. */
export interface BusyClusterView {
  cluster: string;
  kind: string;
  runId: string;
  requestedBy: string;
  /** When it took the cluster, ISO. */
  since: string;
  /** Now, ISO: the age is computed against it so renders are reproducible. */
  now: string;
  /** Zone of the date token's plain-text fallback. */
  fallbackZone: string;
}

/**
 * The refusal of an operation on a cluster that is busy: which run holds it, who asked for it, since when (a date
 * token, so each reader sees local time, and how long ago) — and how to cancel it.
 */
export function buildBusyRefusal(view: BusyClusterView): SlackMessage {
  const age = formatAge(view.since, view.now);
  return usageError(
    {
      mrkdwn: `${codeSpan(view.cluster, 100)} is busy: ${escapeMrkdwn(view.kind)} ${codeSpan(view.runId, 120)} requested by ${formatRequester(view.requestedBy)} has been running since ${slackDate(view.since, SLACK_DATE_TIME, view.fallbackZone)} (${age})`,
      text: escapeMrkdwn(`${view.cluster} is busy: ${view.kind} ${view.runId} has been running since ${fallbackDate(view.since, SLACK_DATE_TIME, view.fallbackZone)} (${age})`),
    },
    `wait for it, or cancel it with \`${SLASH_COMMAND} cancel ${view.runId}\``,
  );
}
