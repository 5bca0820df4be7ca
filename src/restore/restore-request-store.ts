import type pg from 'pg';
import type { RestorePlan } from './restore-plan.js';
import type { RestoreRequest } from './restore-request.js';

export type RestoreRequestStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'started';

/** One decision on a restore request: who, when, which way. */
export interface RestoreDecision {
  user: string;
  decision: 'approve' | 'reject';
  at: string;
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
  status: RestoreRequestStatus;
  approvals: RestoreDecision[];
  slack?: { channel: string; ts: string };
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
    status: r.status,
    approvals: r.approvals ?? [],
    ...(r.slack ? { slack: r.slack } : {}),
    ...(r.run_id ? { runId: r.run_id } : {}),
  };
}

/**
 * Restore requests waiting for approval (and their outcome). Every change of status is one conditional UPDATE
 * (`WHERE status = 'pending'`), so of two people clicking at once exactly one decides.
 */
export function createRestoreRequestStore(pool: pg.Pool) {
  return {
    async create(r: { id: string; cluster: string; request: RestoreRequest; plan: RestorePlan; requestedBy: string; ttlSeconds?: number; requiredApprovals?: number }): Promise<StoredRestoreRequest> {
      const { rows } = await pool.query(
        `INSERT INTO restore_requests (id, cluster, backup_id, fingerprint, request, plan, requested_by, expires_at, required_approvals)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8), $9) RETURNING *`,
        [r.id, r.cluster, r.plan.backup.id, r.plan.fingerprint, JSON.stringify(r.request), JSON.stringify(r.plan), r.requestedBy, r.ttlSeconds ?? 3600, r.requiredApprovals ?? 1],
      );
      return toRequest(rows[0]);
    },

    async get(id: string): Promise<StoredRestoreRequest | undefined> {
      const { rows } = await pool.query('SELECT * FROM restore_requests WHERE id = $1', [id]);
      return rows[0] ? toRequest(rows[0]) : undefined;
    },

    async setSlack(id: string, slack: { channel: string; ts: string }): Promise<void> {
      await pool.query('UPDATE restore_requests SET slack = $2 WHERE id = $1', [id, JSON.stringify(slack)]);
    },

    /**
     * Records a decision on a pending, unexpired request and moves it to `status` — only when it was still
     * pending (and, for an approval, not expired). Undefined when someone else decided first or it expired.
     */
    async decide(id: string, status: Exclude<RestoreRequestStatus, 'pending' | 'started'>, decision: RestoreDecision, runId?: string): Promise<StoredRestoreRequest | undefined> {
      const { rows } = await pool.query(
        `UPDATE restore_requests SET status = $2, approvals = approvals || $3::jsonb, run_id = COALESCE($4, run_id)
         WHERE id = $1 AND status = 'pending' AND ($2 <> 'approved' OR expires_at > now()) RETURNING *`,
        [id, status, JSON.stringify([decision]), runId ?? null],
      );
      return rows[0] ? toRequest(rows[0]) : undefined;
    },

    /** Marks a pending request past its expiry as expired; true when this call did. */
    async expire(id: string): Promise<boolean> {
      const { rowCount } = await pool.query(`UPDATE restore_requests SET status = 'expired' WHERE id = $1 AND status = 'pending' AND expires_at <= now()`, [id]);
      return (rowCount ?? 0) > 0;
    },

    async markStarted(id: string, runId: string): Promise<void> {
      await pool.query(`UPDATE restore_requests SET status = 'started', run_id = $2 WHERE id = $1 AND status = 'approved'`, [id, runId]);
    },
  };
}

export type RestoreRequestStore = ReturnType<typeof createRestoreRequestStore>;
