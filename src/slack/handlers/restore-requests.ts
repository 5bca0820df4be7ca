import type { WebClient } from '@slack/web-api';
import { describeError } from '../../errors.js';
import { newOperationId } from '../../restore/operation-id.js';
import { describePlanDifferences, planRestore, type RestorePlan } from '../../restore/restore-plan.js';
import type { RestoreRequest, ResolvedRestoreRequest } from '../../restore/restore-request.js';
import { restoreDepsFor } from '../../restore/restore-deps-for.js';
import { approvalsOf, type StoredRestoreRequest } from '../../restore/restore-request-store.js';
import type { SlackAppDeps } from '../app-deps.js';
import { usageError } from '../views/help.js';
import { plural } from '../views/mrkdwn.js';
import { parseRestoreSubmission, type RestoreModalMetadata } from '../views/restore-modal.js';
import { buildRestorePlanMessage, type RestoreDecisionView } from '../views/restore-plan.js';
import { showRestoreRequest } from './show-restore-request.js';

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
  const { requiredApprovals, requestExpiryMinutes } = target.restore;
  const stored =
    plan.refusals.length === 0
      ? await deps.restoreRequests!.create({ id, cluster: target.name, request: parsed.request, plan, requestedBy: submission.userId, requiredApprovals, ttlSeconds: requestExpiryMinutes * 60 })
      : undefined;
  const message = buildRestorePlanMessage({
    requestId: id,
    plan,
    requestedBy: submission.userId,
    expiresAt: (stored?.expiresAt ?? new Date()).toISOString(),
    requiredApprovals,
    fallbackZone: deps.fallbackZone,
    ...(plan.refusals.length > 0 ? { decision: { state: 'refused', at: new Date().toISOString(), reason: plan.refusals } satisfies RestoreDecisionView } : {}),
  });
  const posted = await submission.client.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
  if (stored) await deps.restoreRequests!.setSlack(id, { channel: posted.channel ?? channel, ts: posted.ts! });
  await deps.audit.record({ ...audit, outcome: stored ? 'requested' : 'refused', detail: { request: plan.request, fingerprint: plan.fingerprint, overwrites: plan.overwrites, refusals: plan.refusals } });
  return id;
}

const now = () => new Date().toISOString();

/** "1 more approval" / "2 more approvals": what a pending request still needs. */
const stillNeeded = (request: StoredRestoreRequest) => plural(Math.max(request.requiredApprovals - approvalsOf(request).length, 0), 'more approval');

/**
 * Approve / Reject on a restore plan. Approving needs an approver of the cluster who is not the requester and has
 * not approved it yet, a request still pending and not expired, and the same plan now (planned again: a changed
 * fingerprint voids the request, saying what changed). Each approval is added with one conditional UPDATE that
 * also moves the request to `approved` when it completes the required number, so however many clicks arrive at
 * once, one restore starts. Until then the plan shows who approved and how many more are needed, and keeps its
 * buttons; then the buttons give way to who approved and when, and the restore is queued. A rejection by an
 * approver or the requester ends the request.
 *
 * Audit outcomes of `restore-approve`: `approval-recorded` (counted, more needed), `approved` (the last one
 * needed: the restore is queued), `refused` (not counted, with the reason); of `restore-reject`: `rejected`, `refused`.
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
  const request = await store.get(click.requestId);
  if (!request) return refuse('this restore request is unknown', 'ask again with /pachbackup restore');
  const message = request.slack ?? click.message;
  // The request's state is decided in the store; a plan message that could not be updated must not stop a restore.
  const show = async () => {
    if (!message) return;
    await showRestoreRequest({ store, client: click.client, requestId: request.id, message, fallbackZone: deps.fallbackZone }).catch((err: unknown) =>
      deps.log.warn({ err, requestId: request.id }, 'could not update the restore plan message'),
    );
  };
  const cluster = deps.config.clusters[request.cluster];
  const isApprover = cluster !== undefined && (await deps.authorizer.can(click.userId, 'approve', cluster));
  const alreadyApproved = (r: StoredRestoreRequest) => approvalsOf(r).some((a) => a.user === click.userId);
  const refuseRepeat = (r: StoredRestoreRequest) => refuse(`you already approved this restore; it needs ${stillNeeded(r)} from other approvers`, 'wait for another approver', r);
  const refuseExpired = async (r: StoredRestoreRequest) => {
    if (await store.expire(r.id)) await show();
    return refuse('this restore request has expired', 'ask again with /pachbackup restore', r);
  };

  if (click.decision === 'reject') {
    if (!isApprover && click.userId !== request.requestedBy) return refuse(`you are not an approver of ${request.cluster}`, 'only its approvers (or the requester) may reject it', request);
    const rejected = await store.reject(request.id, { user: click.userId, decision: 'reject', at: now() });
    if (!rejected) return refuse(`this request is already ${(await store.get(request.id))?.status ?? request.status}`, 'nothing to do', request);
    await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'rejected', detail: { fingerprint: request.fingerprint, approvedBefore: approvalsOf(rejected).map((a) => a.user) } });
    await show();
    return undefined;
  }
  if (!isApprover) return refuse(`you are not an approver of ${request.cluster}: only its approvers may approve restores`, 'ask one of its approvers', request);
  if (click.userId === request.requestedBy) return refuse('you asked for this restore, so you cannot approve it', 'ask another approver', request);
  if (request.status !== 'pending') return refuse(`this request is already ${request.status}`, 'ask again with /pachbackup restore for another restore', request);
  if (alreadyApproved(request)) return refuseRepeat(request);
  if (request.expiresAt.getTime() <= Date.now()) return refuseExpired(request);
  let current: RestorePlan;
  try {
    current = await planNow(deps, request.cluster, request.id, `<@${request.requestedBy}>`, request.plan.request);
  } catch (err) {
    return refuse(`could not plan the restore again: ${describeError(err)}`, 'try again; if it persists, the pachbackup logs say more', request);
  }
  if (current.fingerprint !== request.fingerprint || current.refusals.length > 0) {
    const changes = current.fingerprint !== request.fingerprint ? describePlanDifferences(request.plan, current) : current.refusals;
    const voided = await store.reject(request.id, { user: click.userId, decision: 'reject', at: now(), planChanges: changes });
    await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'refused', detail: { reason: 'plan changed', changes } });
    if (voided) await show();
    await click.respond(usageError(`the plan changed since it was requested, so this request is void: ${changes.join('; ')}`, 'ask again with /pachbackup restore'));
    return undefined;
  }

  const recorded = await store.approve(request.id, { user: click.userId, decision: 'approve', at: now() }, request.id);
  if (!recorded) {
    // Not counted: say why, as the request is now.
    const latest = (await store.get(request.id)) ?? request;
    if (latest.status === 'pending' && alreadyApproved(latest)) return refuseRepeat(latest);
    if (latest.status === 'pending' && latest.expiresAt.getTime() <= Date.now()) return refuseExpired(latest);
    return refuse(`this request is already ${latest.status}`, 'nothing to do', request);
  }
  const approvals = approvalsOf(recorded);
  const detail = { fingerprint: request.fingerprint, requestedBy: request.requestedBy, approvals: approvals.map((a) => a.user), requiredApprovals: recorded.requiredApprovals };
  if (recorded.status === 'pending') {
    await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'approval-recorded', detail });
    await show();
    await click.respond({ text: `👍 Your approval of restore ${request.id} is recorded; it needs ${stillNeeded(recorded)} from other approvers before it starts.` });
    return undefined;
  }
  await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'approved', detail });
  await deps.queue.enqueue({
    kind: 'restore',
    runId: request.id,
    cluster: request.cluster,
    plan: request.plan,
    requestedBy: `<@${request.requestedBy}>`,
    approvedBy: approvals.map((a) => `<@${a.user}>`).join(', '),
    ...(message ? { slack: message } : {}),
  });
  await store.markStarted(request.id, request.id);
  await show();
  return request.id;
}
