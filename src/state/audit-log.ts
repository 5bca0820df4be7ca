import type pg from 'pg';
import { redactSecrets } from '../secrets/redact-secrets.js';

/** One entry of the audit log: who did what to which cluster, and how it ended. */
export interface AuditEntry {
  actor: string;
  action: string;
  cluster?: string;
  runId?: string;
  /** `approval-recorded`: one approval of a restore that needs more (`approved` is the one that completes it). */
  outcome: 'requested' | 'accepted' | 'refused' | 'succeeded' | 'failed' | 'cancelled' | 'approval-recorded' | 'approved' | 'rejected' | 'info';
  detail?: Record<string, unknown>;
}

/**
 * Appends to the audit log in the state database. Entries are never updated or deleted by pachbackup, and never
 * hold a secret: details go through `redactSecrets`.
 */
export function createAuditLog(pool: pg.Pool) {
  return {
    async record(entry: AuditEntry): Promise<void> {
      await pool.query('INSERT INTO audit (actor, action, cluster, run_id, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
        entry.actor,
        entry.action,
        entry.cluster ?? null,
        entry.runId ?? null,
        entry.outcome,
        JSON.stringify(redactSecrets(entry.detail ?? {})),
      ]);
    },
    async list(filter: { cluster?: string; limit?: number } = {}): Promise<(AuditEntry & { at: Date })[]> {
      const { rows } = await pool.query(
        'SELECT * FROM audit WHERE ($1::text IS NULL OR cluster = $1) ORDER BY id DESC LIMIT $2',
        [filter.cluster ?? null, filter.limit ?? 100],
      );
      return rows.map((r) => ({ at: r.at, actor: r.actor, action: r.action, cluster: r.cluster ?? undefined, runId: r.run_id ?? undefined, outcome: r.outcome, detail: r.detail }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
