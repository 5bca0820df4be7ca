import type { WebClient } from '@slack/web-api';
import type { ClusterConfig } from '../config/config.js';
import type { Logger } from '../log.js';
import { codeSpan, escapeAndTruncate, escapeMrkdwn } from './views/mrkdwn.js';

/** Why a paused cluster is not back: the resume is refused (and retried), or pachd does not become ready. */
export type NotBackCause = 'resume-refused' | 'resume-gave-up' | 'pachd-not-ready';

/**
 * The one ops-channel alert of a run whose cluster does not come back — top-level in the cluster's ops channel, not
 * only in the run's thread, so on-call sees it — naming what is wrong and what to do; edited as the cause changes
 * and edited to "back" when the cluster comes back. Calls go through the reporter's `enqueue`, in order with the
 * run's other Slack calls.
 */
export function createNotBackAlert(options: {
  client: WebClient;
  cluster: ClusterConfig;
  /** The cluster's ops channel. */
  channel: string;
  runId: string;
  kind: 'backup' | 'restore';
  enqueue: (what: string, call: () => Promise<unknown>) => unknown;
  log: Logger;
}) {
  const { client, cluster, channel, runId, enqueue } = options;
  let posted: { channel: string; ts: string } | undefined;
  let since: number | undefined;
  let last: { cause: NotBackCause; detail: string } | undefined;

  const namespace = cluster.kubernetes.namespace;
  const pachd = cluster.pachyderm.deployment;
  const todo = (cause: NotBackCause): string => {
    switch (cause) {
      case 'pachd-not-ready':
        return `pachbackup keeps waiting for it. Look at why pachd does not start: ${codeSpan(`kubectl -n ${namespace} describe deployment ${pachd}`)} and the events and logs of its pods (${codeSpan(`kubectl -n ${namespace} get pods`)}); a pod stuck Terminating behind a finalizer holds its replacement back.`;
      case 'resume-refused':
        return `pachbackup keeps trying to scale the recorded replicas back. Check that the Kubernetes API answers and lets pachbackup scale (${codeSpan(`kubectl -n ${namespace} get deployments,rc`)}).`;
      case 'resume-gave-up':
        return `pachbackup gave up. Once the Kubernetes API answers, scale ${codeSpan(pachd)}, the quiesced deployments and the worker ReplicationControllers back to the replicas the run's thread gives in its "Pause Pachyderm" reply (${codeSpan(`kubectl -n ${namespace} scale deployment ${pachd} --replicas=N`)}).`;
    }
  };
  const render = (text: string) => ({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  const name = escapeMrkdwn(cluster.displayName);

  return {
    /** The cluster is not back, for `cause`; `detail` says exactly what is wrong (pod, condition, error). Posts the alert once, then edits it. */
    raise(cause: NotBackCause, detail: string): void {
      if (last?.cause === cause && last.detail === detail) return;
      last = { cause, detail };
      since ??= Date.now();
      const text = `🚨 Pachyderm *${name}* is not back after ${options.kind} ${codeSpan(runId)} paused it: ${escapeAndTruncate(detail, 1500)}\n*What to do:* ${todo(cause)}`;
      enqueue('not-back alert', async () => {
        if (!posted) {
          const answer = await client.chat.postMessage({ channel, ...render(text) });
          posted = { channel: answer.channel ?? channel, ts: answer.ts! };
        } else {
          await client.chat.update({ channel: posted.channel, ts: posted.ts, ...render(text) });
        }
      });
    },
    /** The cluster is back: the alert, if any, says so and since when it was not. */
    resolve(): void {
      if (since === undefined || !last) return;
      const seconds = Math.round((Date.now() - since) / 1000);
      const text = `✅ Pachyderm *${name}* is back (${options.kind} ${codeSpan(runId)}; it was not back for ${seconds} s: ${escapeAndTruncate(last.detail, 1500)}).`;
      since = undefined;
      last = undefined;
      enqueue('not-back alert', async () => {
        if (posted) await client.chat.update({ channel: posted.channel, ts: posted.ts, ...render(text) });
      });
    },
    /** Whether an alert is up now. */
    raised: () => since !== undefined,
  };
}
