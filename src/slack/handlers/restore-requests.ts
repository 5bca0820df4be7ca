import type { WebClient } from '@slack/web-api';
import { describeError } from '../../errors.js';
import { newOperationId } from '../../restore/operation-id.js';
import { describePlanDifferences, planRestore, type RestorePlan } from '../../restore/restore-plan.js';
import type { RestoreRequest, ResolvedRestoreRequest } from '../../restore/restore-request.js';
import { restoreDepsFor } from '../../restore/restore-deps-for.js';
import type { StoredRestoreRequest } from '../../restore/restore-request-store.js';
import type { SlackAppDeps } from '../app-deps.js';
import { usageError } from '../views/help.js';
import { buildRestoreModal, parseRestoreSubmission, type RestoreBackupChoice, type RestoreModalMetadata } from '../views/restore-modal.js';
import { buildRestorePlanMessage, type RestoreDecisionView } from '../views/restore-plan.js';
import { replyPrivately, type CommandContext } from './command-context.js';

/** Plans a request against a target cluster now (verify.json trusted while fresh), with clients closed after. */
async function planNow(deps: SlackAppDeps, cluster: string, id: string, requestedBy: string, request: RestoreRequest | ResolvedRestoreRequest): Promise<RestorePlan> {
  const target = deps.config.clusters[cluster]!;
  const env = restoreDepsFor(deps.config, target, { locks: deps.locks, runs: deps.runs }, { id, backupId: request.backupId, requestedBy });
  try {
    return await planRestore({ env, request, verification: 'if-stale' });
  } finally {
    env.close();
  }
}

/**
 * `/pachbackup restore [cluster]` (operators): opens the restore modal with the command's trigger id, listing the
 * complete backups of the cluster (of every cluster when none is named), newest first.
 */
export async function openRestoreModal(ctx: CommandContext & { triggerId: string }, command: { cluster?: string }, deps: SlackAppDeps): Promise<void> {
  const clusters = Object.values(deps.config.clusters);
  const allowed = [];
  for (const c of clusters) if (await deps.authorizer.can(ctx.userId, 'operate', c)) allowed.push(c);
  if (allowed.length === 0 || (command.cluster && !allowed.some((c) => c.name === command.cluster))) {
    await deps.audit.record({ actor: ctx.userId, action: 'restore', ...(command.cluster ? { cluster: command.cluster } : {}), outcome: 'refused', detail: { via: 'slack', reason: 'not an operator' } });
    return replyPrivately(ctx, usageError(`you are not an operator of ${command.cluster ?? 'any cluster'}: only operators may ask for restores`, 'ask one of its operators'));
  }
  const sources = command.cluster ? clusters.filter((c) => c.name === command.cluster) : clusters;
  const backups: RestoreBackupChoice[] = [];
  for (const source of sources) {
    try {
      const { backups: entries } = await deps.adapters(source).catalog.list(source.name);
      for (const e of entries) {
        backups.push({
          id: e.manifest.id,
          completedAt: e.manifest.completedAt,
          bytes: e.manifest.objects.bytes + e.manifest.databases.reduce((n, d) => n + d.bytes, 0),
          ...(e.manifest.pachyderm.appVersion ? { pachydermVersion: e.manifest.pachyderm.appVersion } : {}),
          verified: e.verification ? (e.verification.ok ? 'ok' : 'failed') : 'unverified',
        });
      }
    } catch (err) {
      deps.log.warn({ err, cluster: source.name }, 'could not list backups for the restore modal');
    }
  }
  backups.sort((a, b) => b.completedAt.localeCompare(a.completedAt));
  const metadata: RestoreModalMetadata = { channelId: ctx.channelId };
  const view = buildRestoreModal({ backups, clusters: allowed.map((c) => c.name), ...(command.cluster ? { defaultCluster: command.cluster } : {}), now: new Date().toISOString(), metadata });
  await ctx.client.views.open({ trigger_id: ctx.triggerId, view });
}

/**
 * The modal's submission. Field problems (the typed name does not match, no bucket name) go back as
 * `response_action: errors`; otherwise the modal closes at once and the plan is computed after, then posted in
 * the target's ops channel for approval and stored as a pending request.
 */
export async function submitRestoreRequest(
  submission: { userId: string; values: Record<string, Record<string, any>>; privateMetadata: string; ack: (answer?: Record<string, unknown>) => Promise<void>; client: WebClient },
  deps: SlackAppDeps,
): Promise<string | undefined> {
  const parsed = parseRestoreSubmission(submission.values, Object.keys(deps.config.clusters));
  if (!parsed.ok) {
    await submission.ack({ response_action: 'errors', errors: parsed.errors });
    return undefined;
  }
  const target = deps.config.clusters[parsed.cluster]!;
  if (!(await deps.authorizer.can(submission.userId, 'operate', target))) {
    await submission.ack({ response_action: 'errors', errors: { target: `you are not an operator of ${target.name}` } });
    return undefined;
  }
  await submission.ack();
  let metadata: RestoreModalMetadata = { channelId: '' };
  try {
    metadata = JSON.parse(submission.privateMetadata) as RestoreModalMetadata;
  } catch {
    // the channel falls back to the target's ops channel
  }
  const channel = target.slack?.opsChannel ?? metadata.channelId;
  const id = newOperationId('restore', target.name);
  const audit = { actor: submission.userId, action: 'restore-request', cluster: target.name, runId: id };
  let plan: RestorePlan;
  try {
    plan = await planNow(deps, target.name, id, `<@${submission.userId}>`, parsed.request);
  } catch (err) {
    await deps.audit.record({ ...audit, outcome: 'refused', detail: { request: parsed.request, error: describeError(err) } });
    await submission.client.chat.postEphemeral({ channel: metadata.channelId || channel, user: submission.userId, text: `❌ Could not plan the restore of ${parsed.request.backupId} into ${target.name}: ${describeError(err)}` });
    return undefined;
  }
  const stored = plan.refusals.length === 0 ? await deps.restoreRequests!.create({ id, cluster: target.name, request: parsed.request, plan, requestedBy: submission.userId }) : undefined;
  const expiresAt = (stored?.expiresAt ?? new Date()).toISOString();
  const message = buildRestorePlanMessage({
    requestId: id,
    plan,
    requestedBy: submission.userId,
    expiresAt,
    ...(plan.refusals.length > 0 ? { decision: { state: 'refused', at: new Date().toISOString(), reason: plan.refusals } satisfies RestoreDecisionView } : {}),
  });
  const posted = await submission.client.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
  if (stored) await deps.restoreRequests!.setSlack(id, { channel: posted.channel ?? channel, ts: posted.ts! });
  await deps.audit.record({ ...audit, outcome: stored ? 'requested' : 'refused', detail: { request: plan.request, fingerprint: plan.fingerprint, overwrites: plan.overwrites, refusals: plan.refusals } });
  return id;
}

const now = () => new Date().toISOString();

/**
 * Approve / Reject on a restore plan. Approving needs an approver of the cluster who is not the requester, a
 * request still pending and not expired, and the same plan now (planned again: a changed fingerprint voids the
 * request, saying what changed). The status moves with one conditional UPDATE, so two clicks start one restore.
 * Then the buttons give way to who decided and when, and the restore is queued.
 */
export async function decideRestore(
  click: {
    userId: string;
    requestId: string;
    decision: 'approve' | 'reject';
    /** The message the button was on (the plan), which may be clicked before its ts is stored. */
    message?: { channel: string; ts: string };
    client: WebClient;
    respond: (message: { text: string; blocks?: unknown[] }) => Promise<unknown>;
  },
  deps: SlackAppDeps,
): Promise<string | undefined> {
  const store = deps.restoreRequests!;
  const action = click.decision === 'approve' ? 'restore-approve' : 'restore-reject';
  const refuse = async (reason: string, hint: string, r?: StoredRestoreRequest) => {
    await deps.audit.record({ actor: click.userId, action, ...(r ? { cluster: r.cluster, runId: r.id } : {}), outcome: 'refused', detail: { requestId: click.requestId, reason } });
    await click.respond(usageError(reason, hint));
    return undefined;
  };
  const found = await store.get(click.requestId);
  if (!found) return refuse('this restore request is unknown', 'ask again with /pachbackup restore');
  const slack = found.slack ?? click.message;
  const request: StoredRestoreRequest = { ...found, ...(slack ? { slack } : {}) };
  const cluster = deps.config.clusters[request.cluster];
  const isApprover = cluster !== undefined && (await deps.authorizer.can(click.userId, 'approve', cluster));
  const update = async (decision: RestoreDecisionView) => {
    if (!request.slack) return;
    const message = buildRestorePlanMessage({ requestId: request.id, plan: request.plan, requestedBy: request.requestedBy, expiresAt: request.expiresAt.toISOString(), decision });
    await click.client.chat.update({ channel: request.slack.channel, ts: request.slack.ts, text: message.text, blocks: message.blocks });
  };
  if (click.decision === 'reject') {
    if (!isApprover && click.userId !== request.requestedBy) return refuse(`you are not an approver of ${request.cluster}`, 'only its approvers (or the requester) may reject it', request);
    const decided = await store.decide(request.id, 'rejected', { user: click.userId, decision: 'reject', at: now() });
    if (!decided) return refuse(`this request is already ${request.status}`, 'nothing to do', request);
    await update({ state: 'rejected', by: click.userId, at: now() });
    await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'rejected', detail: { fingerprint: request.fingerprint } });
    return undefined;
  }
  if (!isApprover) return refuse(`you are not an approver of ${request.cluster}: only its approvers may approve restores`, 'ask one of its approvers', request);
  if (click.userId === request.requestedBy) return refuse('you asked for this restore, so you cannot approve it', 'ask another approver', request);
  if (request.status !== 'pending') return refuse(`this request is already ${request.status}`, 'ask again with /pachbackup restore for another restore', request);
  if (request.expiresAt.getTime() <= Date.now()) {
    if (await store.expire(request.id)) await update({ state: 'expired', at: now() });
    return refuse('this restore request has expired', 'ask again with /pachbackup restore', request);
  }
  let current: RestorePlan;
  try {
    current = await planNow(deps, request.cluster, request.id, `<@${request.requestedBy}>`, request.plan.request);
  } catch (err) {
    return refuse(`could not plan the restore again: ${describeError(err)}`, 'try again; if it persists, the pachbackup logs say more', request);
  }
  if (current.fingerprint !== request.fingerprint || current.refusals.length > 0) {
    const changes = current.fingerprint !== request.fingerprint ? describePlanDifferences(request.plan, current) : current.refusals;
    const voided = await store.decide(request.id, 'rejected', { user: click.userId, decision: 'reject', at: now() });
    if (voided) await update({ state: 'void', at: now(), reason: changes });
    await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'refused', detail: { reason: 'plan changed', changes } });
    await click.respond(usageError(`the plan changed since it was requested, so this request is void: ${changes.join('; ')}`, 'ask again with /pachbackup restore'));
    return undefined;
  }
  const decided = await store.decide(request.id, 'approved', { user: click.userId, decision: 'approve', at: now() }, request.id);
  if (!decided) return refuse('this request was already decided (or has just expired)', 'nothing to do', request);
  await update({ state: 'approved', by: click.userId, at: now() });
  await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'approved', detail: { fingerprint: request.fingerprint, requestedBy: request.requestedBy } });
  await deps.queue.enqueue({
    kind: 'restore',
    runId: request.id,
    cluster: request.cluster,
    plan: request.plan,
    requestedBy: `<@${request.requestedBy}>`,
    approvedBy: `<@${click.userId}>`,
    ...(request.slack ? { slack: request.slack } : {}),
  });
  await store.markStarted(request.id, request.id);
  return request.id;
}
