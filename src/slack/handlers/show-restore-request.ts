import type { WebClient } from '@slack/web-api';
import { missingApprovals } from '../../restore/restore-approval.js';
import { approvalsOf, type RestoreRequestStore, type StoredRestoreRequest } from '../../restore/restore-request-store.js';
import type { SlackMessage } from '../views/block-kit.js';
import { buildRestorePlanMessage, type RestoreDecisionView } from '../views/restore-plan.js';

/** How a stored request ended, as its plan message says it; undefined while it waits for approvals. */
function decisionOf(request: StoredRestoreRequest): RestoreDecisionView | undefined {
  const last = request.approvals.at(-1);
  switch (request.status) {
    case 'pending':
      return undefined;
    case 'approved':
    case 'started':
      return { state: 'approved', at: approvalsOf(request).at(-1)?.at ?? request.createdAt.toISOString(), ...(request.runId ? { runId: request.runId } : {}) };
    case 'expired':
      return { state: 'expired', at: request.expiresAt.toISOString() };
    case 'rejected':
      if (last?.planChanges) return { state: 'void', at: last.at, reason: last.planChanges };
      if (last?.refusal) return { state: 'refused', at: last.at, reason: last.refusal };
      return { state: 'rejected', at: last?.at ?? request.createdAt.toISOString(), ...(last ? { by: last.user } : {}) };
  }
}

/** Each approval set of a request with how many approvals it still needs. */
export function setsOf(request: StoredRestoreRequest): { cluster: string; approvals: number; missing: number }[] {
  const missing = missingApprovals(request.approvalSets, approvalsOf(request), request.requestedBy);
  return request.approvalSets.map((s, i) => ({ ...s, missing: missing[i]!.approvals }));
}

/** The plan message of a stored request as it stands: its approvals so far, or how it ended. */
function restorePlanMessageOf(request: StoredRestoreRequest, fallbackZone: string): SlackMessage {
  const decision = decisionOf(request);
  return buildRestorePlanMessage({
    requestId: request.id,
    plan: request.plan,
    requestedBy: request.requestedBy,
    expiresAt: request.expiresAt.toISOString(),
    requiredApprovals: request.requiredApprovals,
    approvals: approvalsOf(request),
    // Another cluster's backup: each cluster's approvers are counted apart.
    ...(request.sourceCluster !== request.cluster ? { approvalSets: setsOf(request) } : {}),
    fallbackZone,
    ...(decision ? { decision } : {}),
  });
}

/** Rounds of read-and-render before giving up on a request that keeps changing. */
const MAX_ROUNDS = 5;

/**
 * Makes the posted plan messages (one per ops channel it was posted in) show the request as the store has it now.
 * Called by whoever changed the request, after the change. Two people clicking at once could otherwise leave the older state on screen (the one who read
 * first renders last), so after each render the request is read again and rendered again if it moved on: the
 * last change is always rendered after every stale one.
 */
export async function showRestoreRequest(options: {
  store: RestoreRequestStore;
  client: WebClient;
  requestId: string;
  /** The message clicked, when the request does not know its messages yet. */
  message?: { channel: string; ts: string };
  fallbackZone: string;
}): Promise<void> {
  let shown: string | undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const request = await options.store.get(options.requestId);
    if (!request) return;
    const version = `${request.status}:${request.approvals.length}`;
    if (version === shown) return;
    const message = restorePlanMessageOf(request, options.fallbackZone);
    const targets = request.planMessages.length > 0 ? request.planMessages : options.message ? [options.message] : [];
    for (const target of targets) await options.client.chat.update({ channel: target.channel, ts: target.ts, text: message.text, blocks: message.blocks });
    shown = version;
  }
}
