import { type SlackMessage, LIMITS, context, header, listSections, messageText, section } from './block-kit.js';
import { describeBasis, describeEstimate, formatEstimateSeconds } from './downtime-text.js';
import { escapeAndTruncate, escapeMrkdwn, codeSpan } from './mrkdwn.js';
import type { DowntimeEstimate } from './view-models.js';

/**
 * The `estimate <cluster>` reply: how long a backup started now would pause the cluster — the total with its
 * range, where the number comes from (past runs, or measured throughput when there is no history), and the
 * expected time of each downtime step.
 */
export function buildEstimateView(view: { cluster: string; clusterDisplayName: string; estimate: DowntimeEstimate }): SlackMessage {
  const { estimate } = view;
  const cluster = { name: view.cluster, displayName: view.clusterDisplayName };
  const name = escapeAndTruncate(cluster.displayName, 200);
  const total = describeEstimate(estimate);
  const steps = estimate.perStep.map((s) => `• ${escapeAndTruncate(s.title, 150)} — ${formatEstimateSeconds(s.expectedSeconds)}`);
  return {
    text: messageText(escapeMrkdwn(`A backup of ${cluster.displayName} now would pause it for ${total} (${describeBasis(estimate)}).`)),
    blocks: [
      header(`Downtime estimate: ${cluster.displayName}`),
      section(`A backup of *${name}* started now would pause Pachyderm for *${total}*.`),
      context(describeBasis(estimate)),
      ...(steps.length > 0 ? listSections(['*While paused*', ...steps], LIMITS.blocksPerMessage - 4, 'more steps') : []),
      context(`Start one with ${codeSpan(`/pachbackup backup ${cluster.name}`, 250)}; you will see this again before anything is paused.`),
    ],
  };
}
