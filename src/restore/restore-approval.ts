import type { Authorizer } from '../access/authorizer.js';
import { parseBackupId } from '../catalog/backup-layout.js';
import type { ClusterConfig, Config } from '../config/config.js';
import { describeError } from '../errors.js';
import type { RestorePlan } from './restore-plan.js';

/**
 * Whose people a restore needs. A restore of a cluster's own backup needs its operators to ask and its approvers
 * to approve. Restoring cluster A's backup into cluster B reads A's data (and A's Helm values), so it needs A's
 * people too: the requester must operate A as well as B, and A's approvers must approve; B's approvers must approve
 * as well when the restore writes into B's state — B's live databases or bucket, or anything existing it
 * overwrites. One approver who holds the right on both clusters counts for both. The requester never counts.
 */

/** How many approvals a restore needs from one cluster's approvers. */
export interface ApprovalSet {
  cluster: string;
  approvals: number;
}

/** One approval as a restore request keeps it: who, when, and for which clusters' sets it counts. */
export interface GivenApproval {
  user: string;
  /** The clusters whose approver the user was when approving; absent (older requests): the target's. */
  for?: string[];
}

/** The rights a restore of `plan` needs. */
export interface RestoreRights {
  /** The cluster whose backup is restored (the target itself, for its own backups). */
  source: ClusterConfig;
  target: ClusterConfig;
  /** The requester must operate every one of these. */
  operate: ClusterConfig[];
  approvalSets: ApprovalSet[];
}

/**
 * The configured cluster a backup comes from: the one its id names when it is configured here; otherwise the target
 * (the backup is then read from the target's own backup store, whose people decide about it).
 */
export function sourceClusterOf(config: Config, backupId: string, target: ClusterConfig): ClusterConfig {
  const named = parseBackupId(backupId)?.cluster;
  return (named !== undefined ? config.clusters[named] : undefined) ?? target;
}

/** Whether a restore changes state the target already has: what it runs on, or anything existing it overwrites. */
export function writesTargetState(plan: RestorePlan): boolean {
  return plan.inPlace || plan.databases.some((d) => d.live || d.replaces) || plan.objects.live || (plan.request.overwrite && !plan.objects.empty);
}

/** The rights a restore of `plan` into `target` needs (see the module comment). */
export function restoreRightsFor(config: Config, plan: RestorePlan, target: ClusterConfig): RestoreRights {
  const source = sourceClusterOf(config, plan.backup.id, target);
  if (source.name === target.name) return { source, target, operate: [target], approvalSets: [{ cluster: target.name, approvals: target.restore.requiredApprovals }] };
  const sets = [{ cluster: source.name, approvals: source.restore.requiredApprovals }];
  if (writesTargetState(plan)) sets.push({ cluster: target.name, approvals: target.restore.requiredApprovals });
  return { source, target, operate: [source, target], approvalSets: sets };
}

/** The clusters of `sets` whose set an approval counts toward (older approvals, without `for`, count for the first set). */
function countsFor(approval: GivenApproval, sets: readonly ApprovalSet[]): string[] {
  return approval.for ?? sets.slice(0, 1).map((s) => s.cluster);
}

/** For each set, how many more approvals it needs from `approvals` (the requester's never count). */
export function missingApprovals(sets: readonly ApprovalSet[], approvals: readonly GivenApproval[], requestedBy: string): ApprovalSet[] {
  const counted = approvals.filter((a) => a.user !== requestedBy);
  return sets.map((s) => ({ cluster: s.cluster, approvals: Math.max(0, s.approvals - new Set(counted.filter((a) => countsFor(a, sets).includes(s.cluster)).map((a) => a.user)).size) }));
}

/** The clusters among `sets` whose approver `user` is now (group members read fresh). Throws when a group's members cannot be read. */
export async function approverFor(authorizer: Pick<Authorizer, 'can'>, config: Config, user: string, sets: readonly ApprovalSet[]): Promise<string[]> {
  const clusters: string[] = [];
  for (const set of sets) {
    const cluster = config.clusters[set.cluster];
    if (cluster && (await authorizer.can(user, 'approve', cluster, { fresh: true }))) clusters.push(set.cluster);
  }
  return clusters;
}

/** Why `user` may not ask for the restore now (not an operator of one of `rights.operate`); undefined when they may. */
export async function requesterRefusal(authorizer: Pick<Authorizer, 'can'>, user: string, rights: RestoreRights): Promise<string | undefined> {
  for (const cluster of rights.operate) {
    try {
      if (!(await authorizer.can(user, 'operate', cluster, { fresh: true }))) {
        return cluster.name === rights.target.name
          ? `the requester <@${user}> is not an operator of ${cluster.name}`
          : `the requester <@${user}> is not an operator of ${cluster.name}, whose backup it is: restoring another cluster's backup needs its operators`;
      }
    } catch (err) {
      return `could not confirm that the requester <@${user}> operates ${cluster.name}: ${describeError(err)}`;
    }
  }
  return undefined;
}

/**
 * Checks a restore's approvals against the rights as they are now: each approver (never the requester) counts
 * only for the sets of clusters they still approve for, and every set must be complete. Returns the reason when
 * it is not, naming what is missing; undefined when the approvals suffice.
 */
export async function approvalRefusal(
  authorizer: Pick<Authorizer, 'can'>,
  config: Config,
  request: { requestedBy: string; approvals: readonly GivenApproval[]; sets: readonly ApprovalSet[] },
): Promise<string | undefined> {
  const approvers = [...new Set(request.approvals.map((a) => a.user))];
  if (approvers.length > 0 && approvers.every((u) => u === request.requestedBy)) return `it was approved only by its requester <@${request.requestedBy}>, who may not approve their own restore`;
  const holding: GivenApproval[] = [];
  const lost: string[] = [];
  for (const user of approvers.filter((u) => u !== request.requestedBy)) {
    let now: string[];
    try {
      now = await approverFor(authorizer, config, user, request.sets);
    } catch (err) {
      return `could not confirm that <@${user}> still approves restores: ${describeError(err)}`;
    }
    const given = request.approvals.filter((a) => a.user === user).flatMap((a) => countsFor(a, request.sets));
    const still = given.filter((c) => now.includes(c));
    if (still.length < new Set(given).size) lost.push(`<@${user}>`);
    if (still.length > 0) holding.push({ user, for: still });
  }
  const missing = missingApprovals(request.sets, holding, request.requestedBy).filter((s) => s.approvals > 0);
  if (missing.length === 0) return undefined;
  const needs = missing.map((s) => `${s.approvals} more from ${s.cluster}'s approvers`).join(' and ');
  return `it is not approved: it needs ${needs}${lost.length > 0 ? ` (${lost.join(', ')} no longer approve${lost.length === 1 ? 's' : ''} restores there)` : ''}`;
}
