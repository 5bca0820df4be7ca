import type { SandboxState } from './sandbox-state.js';

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** What a person needs to use a running sandbox by hand: every endpoint, and commands that work against it. */
export function describeSandbox(state: SandboxState): string {
  return [
    `Sandbox (${state.size}) in ${state.dir}`,
    `  PostgreSQL   ${state.postgres.url}  databases: ${state.postgres.databases.join(', ')} (+ state DB pachbackup), TLS CA ${state.postgres.caFile}`,
    `  Redis        ${state.redis.url}`,
    `  S3 (s3rver)  ${state.s3.endpoint}  bucket ${state.s3.clusterBucket}: ${state.s3.objects} chunk objects, ${mib(state.s3.bytes)}; backups -> s3://${state.s3.backupBucket}/${state.s3.backupPrefix}`,
    `  Kubernetes   ${state.kubernetes.server}  namespace ${state.kubernetes.namespace}`,
    `  Slack        ${state.slack.apiUrl}  messages: ${state.slack.messagesUrl}  (the app ${state.slack.mode === 'socket' ? 'connects in Socket Mode' : `receives over HTTP at ${state.slack.eventsUrl}`})`,
    `  Metrics      app ${state.metrics.app}, worker ${state.metrics.worker}`,
    `  Config       ${state.config}  (cluster "${state.cluster}")`,
    '',
    'Try:',
    `  KUBECONFIG=${state.kubernetes.kubeconfig} kubectl get deploy,rc,pods`,
    `  psql "${state.postgres.url.replace(/\/postgres$/, '/pachyderm')}" -c '\\dn'`,
    `  curl -s ${state.slack.messagesUrl}`,
    `  pachbackup sandbox status   |   pachbackup sandbox down`,
  ].join('\n');
}
