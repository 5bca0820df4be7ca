import type { WebClient } from '@slack/web-api';
import { describeError } from '../../errors.js';
import { newOperationId } from '../../restore/operation-id.js';
import { describePlanDifferences, planRestore, type RestorePlan } from '../../restore/restore-plan.js';
import type { RestoreRequest, ResolvedRestoreRequest } from '../../restore/restore-request.js';
import { restoreDepsFor } from '../../restore/restore-deps-for.js';
import { approverFor, missingApprovals, requesterRefusal, restoreRightsFor, sourceClusterOf } from '../../restore/restore-approval.js';
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
  // Acknowledged before any slow call: the rights checks ask Slack for user groups' members (fresh).
  await submission.ack();
  let metadata: RestoreModalMetadata = { channelId: '' };
  try {
    metadata = JSON.parse(submission.privateMetadata) as RestoreModalMetadata;
  } catch {
    // the channel falls back to the target's ops channel
  }
  const channel = target.slack?.opsChannel ?? metadata.channelId;
  const tell = (message: { text: string; blocks: unknown[] }) => submission.client.chat.postEphemeral({ channel: metadata.channelId || channel, user: submission.userId, text: message.text, blocks: message.blocks as never });
  if (!(await deps.authorizer.can(submission.userId, 'operate', target, { fresh: true }))) {
    await deps.audit.record({ actor: submission.userId, action: 'restore-request', cluster: target.name, outcome: 'refused', detail: { reason: 'not an operator' } });
    await tell(usageError(`you are not an operator of ${target.name}: only its operators may ask for its restores`, 'ask one of its operators'));
    return undefined;
  }
  // Another cluster's backup holds that cluster's data: its operators alone may ask for it.
  const source = sourceClusterOf(deps.config, parsed.request.backupId, target);
  if (source.name !== target.name && !(await deps.authorizer.can(submission.userId, 'operate', source, { fresh: true }))) {
    await deps.audit.record({ actor: submission.userId, action: 'restore-request', cluster: target.name, outcome: 'refused', detail: { reason: 'not an operator of the source cluster', sourceCluster: source.name, backupId: parsed.request.backupId } });
    await tell(usageError(`you are not an operator of ${source.name}, whose backup this is: restoring another cluster's backup needs its operators`, `ask one of the operators of ${source.name}`));
    return undefined;
  }
  const id = newOperationId('restore', target.name);
  const audit = { actor: submission.userId, action: 'restore-request', cluster: target.name, runId: id };
  let plan: RestorePlan;
  try {
    plan = await planNow(deps, target.name, id, `<@${submission.userId}>`, parsed.request);
  } catch (err) {
    await deps.audit.record({ ...audit, outcome: 'refused', detail: { request: parsed.request, error: describeError(err) } });
    await submission.client.chat.postEphemeral({ channel: metadata.channelId || channel, user: submission.userId, ...usageError(`could not plan the restore of \`${parsed.request.backupId}\` into ${target.name}: ${describeError(err)}`, 'try again; if it persists, the pachbackup logs say more') });
    return undefined;
  }
  const { requiredApprovals, requestExpiryMinutes } = target.restore;
  const rights = restoreRightsFor(deps.config, plan, target);
  const crossCluster = source.name !== target.name;
  const stored =
    plan.refusals.length === 0
      ? await deps.restoreRequests!.create({
          id,
          cluster: target.name,
          request: parsed.request,
          plan,
          requestedBy: submission.userId,
          requiredApprovals: crossCluster ? rights.approvalSets.reduce((n, s) => n + s.approvals, 0) : requiredApprovals,
          approvalSets: rights.approvalSets,
          sourceCluster: source.name,
          ttlSeconds: requestExpiryMinutes * 60,
        })
      : undefined;
  const message = buildRestorePlanMessage({
    requestId: id,
    plan,
    requestedBy: submission.userId,
    expiresAt: (stored?.expiresAt ?? new Date()).toISOString(),
    requiredApprovals,
    ...(crossCluster ? { approvalSets: rights.approvalSets.map((s) => ({ ...s, missing: s.approvals })) } : {}),
    fallbackZone: deps.fallbackZone,
    ...(plan.refusals.length > 0 ? { decision: { state: 'refused', at: new Date().toISOString(), reason: plan.refusals } satisfies RestoreDecisionView } : {}),
  });
  // The plan goes to the target's ops channel and, for another cluster's backup, to that cluster's too: its
  // approvers decide as well, and may approve from either message.
  const channels = [channel, ...(crossCluster && source.slack?.opsChannel && source.slack.opsChannel !== channel ? [source.slack.opsChannel] : [])];
  const posted: { channel: string; ts: string }[] = [];
  for (const c of channels) {
    const answer = await submission.client.chat.postMessage({ channel: c, text: message.text, blocks: message.blocks });
    posted.push({ channel: answer.channel ?? c, ts: answer.ts! });
  }
  if (stored) await deps.restoreRequests!.setSlack(id, posted[0]!, posted);
  await deps.audit.record({
    ...audit,
    outcome: stored ? 'requested' : 'refused',
    detail: { request: plan.request, fingerprint: plan.fingerprint, sourceCluster: source.name, targetCluster: target.name, approvalSets: rights.approvalSets, overwrites: plan.overwrites, refusals: plan.refusals },
  });
  return id;
}

const now = () => new Date().toISOString();

/** "1 more approval" / "1 more approval from prod's approvers": what a pending request still needs. */
function stillNeeded(request: StoredRestoreRequest): string {
  const missing = missingApprovals(request.approvalSets, approvalsOf(request), request.requestedBy).filter((s) => s.approvals > 0);
  if (request.approvalSets.length === 1) return plural(missing[0]?.approvals ?? 0, 'more approval');
  return missing.map((s) => `${plural(s.approvals, 'more approval')} from ${s.cluster}'s approvers`).join(' and ') || 'no more approvals';
}

/**
 * Approve / Reject on a restore plan (from any message it was posted as). Approving needs an approver of a cluster
 * whose approvals the request needs (see restore-approval: the source's, and the target's) who is not the
 * requester and has not approved it yet, a request still pending and not expired, a requester who still operates
 * the clusters (otherwise the request is refused and ends), and the same plan now (planned again: a changed
 * fingerprint voids the request, saying what changed). Each approval is added with one conditional UPDATE that
 * also moves the request to `approved` when it completes the required number, so however many clicks arrive at
 * once, one restore starts. Until then the plan shows who approved and how many more are needed, and keeps its
 * buttons; then the buttons give way to who approved and when, and the run the approval started. A rejection by an
 * approver or the requester ends the request.
 *
 * Audit outcomes of `restore-approve`: `approval-recorded` (counted, more needed), `approved` (the last one
 * needed: the restore run is started), `refused` (not counted, with the reason); of `restore-reject`: `rejected`, `refused`.
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
  if (!request) return refuse('this restore request is unknown', 'ask again with `/pachbackup restore`');
  const message = request.slack ?? click.message;
  // The request's state is decided in the store; a plan message that could not be updated must not stop a restore.
  const show = async () => {
    await showRestoreRequest({ store, client: click.client, requestId: request.id, ...(message ? { message } : {}), fallbackZone: deps.fallbackZone }).catch((err: unknown) =>
      deps.log.warn({ err, requestId: request.id }, 'could not update the restore plan message'),
    );
  };
  const cluster = deps.config.clusters[request.cluster];
  if (!cluster) return refuse(`its target cluster ${request.cluster} is not in this config`, 'ask again with /pachbackup restore', request);
  // The clusters whose approver the clicker is, among those whose approvals the request needs.
  let approverOf: string[];
  try {
    approverOf = await approverFor(deps.authorizer, deps.config, click.userId, request.approvalSets);
  } catch (err) {
    return refuse(`could not check your rights: ${describeError(err)}`, 'try again in a moment', request);
  }
  const approverClusters = request.approvalSets.map((s) => s.cluster).join(' or ');
  const alreadyApproved = (r: StoredRestoreRequest) => approvalsOf(r).some((a) => a.user === click.userId);
  const refuseRepeat = (r: StoredRestoreRequest) => refuse(`you already approved this restore; it needs ${stillNeeded(r)} from other approvers`, 'wait for another approver', r);
  const refuseExpired = async (r: StoredRestoreRequest) => {
    if (await store.expire(r.id)) await show();
    return refuse('this restore request has expired', 'ask again with `/pachbackup restore`', r);
  };

  if (click.decision === 'reject') {
    if (approverOf.length === 0 && click.userId !== request.requestedBy) return refuse(`you are not an approver of ${approverClusters}`, 'only its approvers (or the requester) may reject it', request);
    const rejected = await store.reject(request.id, { user: click.userId, decision: 'reject', at: now() });
    if (!rejected) return refuse(`this request is already ${(await store.get(request.id))?.status ?? request.status}`, 'nothing to do', request);
    await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'rejected', detail: { fingerprint: request.fingerprint, approvedBefore: approvalsOf(rejected).map((a) => a.user) } });
    await show();
    return undefined;
  }
  if (approverOf.length === 0) return refuse(`you are not an approver of ${approverClusters}: only its approvers may approve restores`, 'ask one of its approvers', request);
  if (click.userId === request.requestedBy) return refuse('you asked for this restore, so you cannot approve it', 'ask another approver', request);
  if (request.status !== 'pending') return refuse(`this request is already ${request.status}`, 'ask again with `/pachbackup restore` for another restore', request);
  if (alreadyApproved(request)) return refuseRepeat(request);
  if (request.expiresAt.getTime() <= Date.now()) return refuseExpired(request);
  // The requester must still hold the rights they asked with: otherwise the request ends here.
  const notRequester = await requesterRefusal(deps.authorizer, request.requestedBy, restoreRightsFor(deps.config, request.plan, cluster));
  if (notRequester) {
    const ended = await store.reject(request.id, { user: click.userId, decision: 'reject', at: now(), refusal: [notRequester] });
    await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'refused', detail: { reason: notRequester } });
    if (ended) await show();
    await click.respond(usageError(`this request can no longer be approved: ${notRequester}`, 'an operator may ask again with /pachbackup restore'));
    return undefined;
  }
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
    await click.respond(usageError(`the plan changed since it was requested, so this request is void: ${changes.join('; ')}`, 'ask again with `/pachbackup restore`'));
    return undefined;
  }

  const recorded = await store.approve(request.id, { user: click.userId, decision: 'approve', at: now(), for: approverOf }, request.id);
  if (!recorded) {
    // Not counted: say why, as the request is now.
    const latest = (await store.get(request.id)) ?? request;
    if (latest.status === 'pending' && alreadyApproved(latest)) return refuseRepeat(latest);
    if (latest.status === 'pending' && latest.expiresAt.getTime() <= Date.now()) return refuseExpired(latest);
    return refuse(`this request is already ${latest.status}`, 'nothing to do', request);
  }
  const approvals = approvalsOf(recorded);
  const detail = {
    fingerprint: request.fingerprint,
    requestedBy: request.requestedBy,
    approvals: approvals.map((a) => a.user),
    approvedFor: approverOf,
    sourceCluster: request.sourceCluster,
    targetCluster: request.cluster,
    approvalSets: recorded.approvalSets,
  };
  if (recorded.status === 'pending') {
    await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'approval-recorded', detail });
    await show();
    await click.respond({ text: `👍 Your approval of restore ${request.id} is recorded; it needs ${stillNeeded(recorded)} from other approvers before it starts.` });
    return undefined;
  }
  await deps.audit.record({ actor: click.userId, action, cluster: request.cluster, runId: request.id, outcome: 'approved', detail });
  // The job names the request and its run; the worker reads the rest from the state database and checks it again.
  await deps.queue.enqueue({ kind: 'restore', runId: recorded.runId ?? request.id, requestId: request.id });
  await show();
  return request.id;
}
