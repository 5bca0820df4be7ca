import type { Config, ClusterConfig } from '../config/config.js';
import type { OperationsQueue } from '../jobs/operations-queue.js';
import type { Logger } from '../log.js';
import type { ClusterAdapters } from '../runtime/cluster-adapters.js';
import type { ClusterReads } from '../status/cluster-reads.js';
import type { Schedules } from '../schedules/schedules.js';
import type { RestoreRequestStore } from '../restore/restore-request-store.js';
import type { AuditLog } from '../state/audit-log.js';
import type { ClusterLocks } from '../state/cluster-lock.js';
import type { RunStore } from '../state/run-store.js';
import type { Authorizer } from '../access/authorizer.js';
import type { PendingConfirmations } from './pending-confirmations.js';

/**
 * What the Slack listeners work with, built by `pachbackup serve`: config, state, the queue, and small
 * functions over the clusters. Listeners only parse, authorize, enqueue and render.
 */
export interface SlackAppDeps {
  config: Config;
  log: Logger;
  runs: RunStore;
  audit: AuditLog;
  locks: ClusterLocks;
  queue: Pick<OperationsQueue, 'enqueue' | 'removeIfWaiting' | 'isPending'>;
  confirmations: PendingConfirmations;
  authorizer: Authorizer;
  /** Asks the worker running `runId` to cancel it; resolves with how many workers heard the request. */
  requestCancel(runId: string): Promise<number>;
  /** The cluster's clients (cached). */
  adapters(cluster: ClusterConfig): ClusterAdapters;
  /** A cluster's status, backup estimate and backups, each read once for everyone asking at about the same time. */
  reads: ClusterReads;
  /** IANA zone for plain-text fallbacks of times (Slack shows each reader their own zone). */
  fallbackZone: string;
  /** Backup schedules (config file and Slack-made) for `/pachbackup schedule`; absent: the command says it is unavailable. */
  schedules?: Schedules;
  /** Restore requests waiting for approval (the state database). */
  restoreRequests?: RestoreRequestStore;
}
