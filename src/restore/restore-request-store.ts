import type pg from 'pg';
import type { ApprovalSet } from './restore-approval.js';
import type { RestorePlan } from './restore-plan.js';
import type { RestoreRequest } from './restore-request.js';

export type RestoreRequestStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'started';

/** One decision on a restore request: who, when, which way. */
export interface RestoreDecision {
  user: string;
  decision: 'approve' | 'reject';
  at: string;
  /** An approval: the clusters whose approver the user was (their sets it counts toward; see restore-approval). */
  for?: string[];
  /** A rejection because the plan changed since it was requested (the request is void): what changed. */
  planChanges?: string[];
  /** A rejection because the request may not go on (its requester lost the right to ask): why. */
  refusal?: string[];
}

/** A restore asked for in Slack, as the state database's `restore_requests` table keeps it. */
export interface StoredRestoreRequest {
  id: string;
  cluster: string;
  backupId: string;
  fingerprint: string;
  request: RestoreRequest;
  plan: RestorePlan;
  requestedBy: string;
  createdAt: Date;
  expiresAt: Date;
  requiredApprovals: number;
  /** How many approvals from which cluster's approvers it needs (the target's `requiredApprovals` for older rows). */
  approvalSets: ApprovalSet[];
  /** The cluster whose backup is restored. */
  sourceCluster: string;
  status: RestoreRequestStatus;
  approvals: RestoreDecision[];
  /** The plan message in the target's ops channel. */
  slack?: { channel: string; ts: string };
  /** Every message the plan was posted as (the target's ops channel, and the source's for another cluster's backup). */
  planMessages: { channel: string; ts: string }[];
  runId?: string;
}

function toRequest(r: Record<string, any>): StoredRestoreRequest {
  return {
    id: r.id,
    cluster: r.cluster,
    backupId: r.backup_id,
    fingerprint: r.fingerprint,
    request: r.request,
    plan: r.plan,
    requestedBy: r.requested_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    requiredApprovals: r.required_approvals,
    approvalSets: r.approval_sets ?? [{ cluster: r.cluster, approvals: r.required_approvals }],
    sourceCluster: r.source_cluster ?? r.cluster,
    status: r.status,
    approvals: r.approvals ?? [],
    ...(r.slack ? { slack: r.slack } : {}),
    planMessages: r.plan_messages ?? (r.slack ? [r.slack] : []),
    ...(r.run_id ? { runId: r.run_id } : {}),
  };
}

/**
 * SQL: whether the jsonb array of decisions `approvals` completes every approval set of the row — for each set
 * ({cluster, approvals}), that many distinct users other than the requester approved for that cluster (an approval
 * without `for`, from older rows, counts for the first set). Mirrors `missingApprovals`.
 */
const COMPLETES = (approvals: string) => `NOT EXISTS (
  SELECT 1 FROM jsonb_array_elements(COALESCE(approval_sets, jsonb_build_array(jsonb_build_object('cluster', cluster, 'approvals', required_approvals)))) WITH ORDINALITY AS s(approval_set, n)
  WHERE (SELECT count(DISTINCT a->>'user') FROM jsonb_array_elements(${approvals}) AS a
         WHERE a->>'decision' = 'approve' AND a->>'user' <> requested_by
           AND (CASE WHEN a ? 'for' THEN a->'for' ? (s.approval_set->>'cluster') ELSE s.n = 1 END)) < (s.approval_set->>'approvals')::int)`;

/** The approvals given to a request, oldest first (`approve` records each approver once). */
export function approvalsOf(request: Pick<StoredRestoreRequest, 'approvals'>): RestoreDecision[] {
  return request.approvals.filter((a) => a.decision === 'approve');
}

/**
 * Restore requests waiting for approval (and their outcome). Every change of status is one conditional UPDATE
 * (`WHERE status = 'pending'`), so of two people clicking at once exactly one decides.
 */
export function createRestoreRequestStore(pool: pg.Pool) {
  return {
    /** Stores a new pending request; `approvalSets` default to `requiredApprovals` (default 1) from the target's approvers. */
    async create(r: {
      id: string;
      cluster: string;
      request: RestoreRequest;
      plan: RestorePlan;
      requestedBy: string;
      ttlSeconds?: number;
      requiredApprovals?: number;
      approvalSets?: ApprovalSet[];
      sourceCluster?: string;
    }): Promise<StoredRestoreRequest> {
      const { rows } = await pool.query(
        `INSERT INTO restore_requests (id, cluster, backup_id, fingerprint, request, plan, requested_by, expires_at, required_approvals, approval_sets, source_cluster)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8), $9, $10, $11) RETURNING *`,
        [
          r.id,
          r.cluster,
          r.plan.backup.id,
          r.plan.fingerprint,
          JSON.stringify(r.request),
          JSON.stringify(r.plan),
          r.requestedBy,
          r.ttlSeconds ?? 3600,
          r.requiredApprovals ?? r.approvalSets?.reduce((n, s) => n + s.approvals, 0) ?? 1,
          r.approvalSets ? JSON.stringify(r.approvalSets) : null,
          r.sourceCluster ?? r.cluster,
        ],
      );
      return toRequest(rows[0]);
    },

    async get(id: string): Promise<StoredRestoreRequest | undefined> {
      const { rows } = await pool.query('SELECT * FROM restore_requests WHERE id = $1', [id]);
      return rows[0] ? toRequest(rows[0]) : undefined;
    },

    /** Records where the plan was posted: `slack` in the target's ops channel, and every plan message. */
    async setSlack(id: string, slack: { channel: string; ts: string }, planMessages: { channel: string; ts: string }[] = [slack]): Promise<void> {
      await pool.query('UPDATE restore_requests SET slack = $2, plan_messages = $3 WHERE id = $1', [id, JSON.stringify(slack), JSON.stringify(planMessages)]);
    },

    /**
     * Records a rejection on a pending request and ends it — only when it was still pending. Undefined when
     * someone else decided first. (Approvals go through `approve`, which counts them.)
     */
    async reject(id: string, decision: RestoreDecision & { decision: 'reject' }): Promise<StoredRestoreRequest | undefined> {
      const { rows } = await pool.query(
        `UPDATE restore_requests SET status = 'rejected', approvals = approvals || $2::jsonb WHERE id = $1 AND status = 'pending' RETURNING *`,
        [id, JSON.stringify([decision])],
      );
      return rows[0] ? toRequest(rows[0]) : undefined;
    },

    /**
     * Adds `approval` to a pending, unexpired request that `approval.user` has not approved yet, and moves it to
     * `approved` (with `runId`) when that completes every approval set (see `COMPLETES`) — all in one conditional
     * UPDATE, so of any number of concurrent clicks (double clicks, or the last two approvers at once) exactly one
     * sees `approved`. Undefined when the approval was not recorded: already approved by this user, decided,
     * or expired. The result's status says which: still `pending` (more approvals needed) or `approved`.
     */
    async approve(id: string, approval: RestoreDecision & { decision: 'approve' }, runId: string): Promise<StoredRestoreRequest | undefined> {
      // Counted in the row as the UPDATE finds it: under READ COMMITTED, an UPDATE that waited for a concurrent
      // one re-checks WHERE and computes SET on the row that one committed
      // (https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED), so no approval that
      // committed first is missed and no user is counted twice.
      const { rows } = await pool.query(
        `UPDATE restore_requests
         SET approvals = approvals || $2::jsonb,
             status = CASE WHEN ${COMPLETES('approvals || $2::jsonb')} THEN 'approved' ELSE status END,
             run_id = CASE WHEN ${COMPLETES('approvals || $2::jsonb')} THEN $4 ELSE run_id END
         WHERE id = $1 AND status = 'pending' AND expires_at > now()
           AND NOT approvals @> jsonb_build_array(jsonb_build_object('user', $3::text, 'decision', 'approve'))
         RETURNING *`,
        [id, JSON.stringify([approval]), approval.user, runId],
      );
      return rows[0] ? toRequest(rows[0]) : undefined;
    },

    /** Marks a pending request past its expiry as expired; true when this call did. */
    async expire(id: string): Promise<boolean> {
      const { rowCount } = await pool.query(`UPDATE restore_requests SET status = 'expired' WHERE id = $1 AND status = 'pending' AND expires_at <= now()`, [id]);
      return (rowCount ?? 0) > 0;
    },

    /**
     * The worker's claim on an approved request before it runs it: `approved` becomes `started` only for the run
     * the approval named and only before the request expires, in one conditional UPDATE — so a request runs once,
     * however many jobs name it. Undefined when this call did not claim it.
     */
    async claim(id: string, runId: string): Promise<StoredRestoreRequest | undefined> {
      const { rows } = await pool.query(
        `UPDATE restore_requests SET status = 'started' WHERE id = $1 AND status = 'approved' AND run_id = $2 AND expires_at > now() RETURNING *`,
        [id, runId],
      );
      return rows[0] ? toRequest(rows[0]) : undefined;
    },
  };
}

export type RestoreRequestStore = ReturnType<typeof createRestoreRequestStore>;
