/** A complete backup as retention sees it. */
export interface RetentionCandidate {
  id: string;
  completedAt: string;
  pinned: boolean;
}

export interface RetentionPolicy {
  keepLast?: number;
  keepDays?: number;
}

export interface RetentionPlan {
  keep: { id: string; reasons: string[] }[];
  remove: { id: string; completedAt: string }[];
}

/**
 * Which complete backups a policy keeps: the newest `keepLast`, every one younger than `keepDays`, every pinned
 * one, and always the newest (a policy can never leave a cluster without a backup). With no policy, all are kept.
 * Pure: the same backups, policy and time give the same plan.
 */
export function planRetention(backups: readonly RetentionCandidate[], policy: RetentionPolicy, now: Date): RetentionPlan {
  const newestFirst = [...backups].sort((a, b) => b.completedAt.localeCompare(a.completedAt));
  const plan: RetentionPlan = { keep: [], remove: [] };
  const hasPolicy = policy.keepLast !== undefined || policy.keepDays !== undefined;
  for (const [index, backup] of newestFirst.entries()) {
    const reasons: string[] = [];
    if (!hasPolicy) reasons.push('no retention policy');
    if (index === 0) reasons.push('newest');
    if (policy.keepLast !== undefined && index < policy.keepLast) reasons.push(`among the last ${policy.keepLast}`);
    const ageDays = (now.getTime() - Date.parse(backup.completedAt)) / 86_400_000;
    if (policy.keepDays !== undefined && ageDays < policy.keepDays) reasons.push(`younger than ${policy.keepDays} days`);
    if (backup.pinned) reasons.push('pinned');
    if (reasons.length > 0) plan.keep.push({ id: backup.id, reasons });
    else plan.remove.push({ id: backup.id, completedAt: backup.completedAt });
  }
  return plan;
}
