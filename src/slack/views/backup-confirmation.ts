import { ACTION_IDS } from '../slack-ids.js';
import { type SlackMessage, actions, button, confirmDialog, context, fieldsSection, header, messageText, section } from './block-kit.js';
import { describeBasis, describeEstimate } from './downtime-text.js';
import { escapeAndTruncate, escapeMrkdwn, formatCount, joinWithin, plural, codeSpan } from './mrkdwn.js';
import { SLACK_DATE_TIME, slackDate } from './time-text.js';
import type { BackupConfirmationView } from './view-models.js';

const PAUSE_STRATEGIES: Record<BackupConfirmationView['pauseStrategy'], string> = {
  scale: 'scale pachd, its deployments and pipeline workers to zero',
  enterprise: "pachd's paused mode (Enterprise), then scale the rest to zero",
};

/**
 * The ephemeral "are you sure?" before a backup. It leads with the Kubernetes context and namespace — the
 * runbook's "make sure you point at the right cluster" — then what will be paused (with replica counts, which are
 * what the resume restores), what is dumped and copied where, and the downtime users will be told about.
 * Confirm and Cancel carry the confirmation id as their value; Confirm asks once more in a Slack dialog.
 * `zone` is only for the plain-text fallback of the expiry time.
 */
export function buildBackupConfirmation(view: BackupConfirmationView, zone = 'UTC'): SlackMessage {
  const name = escapeAndTruncate(view.clusterDisplayName, 200);
  const estimate = describeEstimate(view.estimate);
  const deployments = view.deployments.map((d) => `${codeSpan(d.name)} ×${formatCount(d.replicas)}`);
  const workerPods = view.workers.reduce((n, w) => n + w.replicas, 0);
  const workers = view.workers.map((w) => `${codeSpan(w.name)} ×${formatCount(w.replicas)}`);
  const paused = [
    `*Deployments:* ${deployments.length > 0 ? joinWithin(deployments, 900) : 'none'}`,
    view.workers.length > 0
      ? `*Pipeline workers (RCs):* ${plural(view.workers.length, 'RC')}, ${plural(workerPods, 'pod')} — ${joinWithin(workers, 1400)}`
      : '*Pipeline workers (RCs):* none running',
    `*Data ingestion suspended:* ${view.ingress.length > 0 ? joinWithin(view.ingress.map((i) => `${codeSpan(i)}`), 500) : 'nothing configured'}`,
  ];
  const blocks = [
    header(`Back up ${view.clusterDisplayName}?`),
    fieldsSection(
      [
        `*Cluster*\n${name} (${codeSpan(view.cluster, 200)})`,
        `*Pause strategy*\n${PAUSE_STRATEGIES[view.pauseStrategy]}`,
        `*Kubernetes context*\n:dart: ${codeSpan(view.context, 500)}`,
        `*Namespace*\n:dart: ${codeSpan(view.namespace, 500)}`,
      ],
      '⚠️ *Check that this is the cluster you mean.*',
    ),
    section(`⏸️ *Estimated downtime: ${estimate}*\n${describeBasis(view.estimate)}`),
    section(`*Will be paused*\n${paused.join('\n')}`),
    section(
      [
        `*Databases dumped:* ${view.databases.length > 0 ? joinWithin(view.databases.map((d) => `${codeSpan(d)}`), 800) : 'none'}`,
        `*Objects:* ${codeSpan(view.bucket, 600)} → ${codeSpan(view.backupStore, 600)}`,
        ...(view.note ? [`*Note:* ${escapeAndTruncate(view.note, 1000)}`] : []),
      ].join('\n'),
    ),
    context(`Only you can see this. It expires ${slackDate(view.expiresAt, SLACK_DATE_TIME, zone)}.`),
    actions(
      button({
        actionId: ACTION_IDS.confirmBackup,
        text: 'Confirm backup',
        value: view.confirmationId,
        style: 'primary',
        confirm: confirmDialog({
          title: `Pause ${view.clusterDisplayName}?`,
          text: `Pachyderm *${escapeAndTruncate(view.clusterDisplayName, 60)}* (${codeSpan(view.context, 60)} / ${codeSpan(view.namespace, 40)}) will be paused for ${estimate}. Its users are told in advance.`,
          confirm: 'Yes, back up now',
          deny: 'Not yet',
          style: 'primary',
        }),
      }),
      button({ actionId: ACTION_IDS.dismissBackup, text: 'Cancel', value: view.confirmationId }),
    ),
  ];
  return {
    text: messageText(
      escapeMrkdwn(
        `Back up ${view.clusterDisplayName} (context ${view.context}, namespace ${view.namespace})? Pachyderm would be paused for ${estimate}. Confirm or cancel.`,
      ),
    ),
    blocks,
  };
}
