import type { Queue } from 'bullmq';
import type { WebClient } from '@slack/web-api';
import type { Config } from '../config/config.js';
import { describeError, PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import { loadClusterMetrics, type PachbackupMetrics } from '../observability/metrics.js';
import { pachdRunning } from '../observability/pachd-running.js';
import { createStaleBackupAlerter } from '../observability/stale-backups.js';
import { runRetention } from '../retention/run-retention.js';
import { createClustersSeen } from '../state/clusters-seen.js';
import { clusterAdapters } from '../runtime/cluster-adapters.js';
import type { StateConnections } from '../runtime/connect-state.js';

export const RETENTION_JOB = 'retention';
export const STALE_CHECK_JOB = 'stale-check';

/** When retention runs for each cluster with a policy (UTC), and how often backups' ages are checked. */
export const RETENTION_PATTERN = '30 4 * * *';
export const STALE_CHECK_EVERY_MS = 10 * 60_000;

/**
 * The worker's housekeeping, on BullMQ job schedulers so that one worker does each (however many run):
 * retention for every cluster with a policy, daily; and every ten minutes the stale-backup check (an alert in
 * the ops channel when a cluster's last good backup is too old) and a refresh of the last-success metrics, so
 * backups run from the CLI or by other workers show up too.
 */
export function createMaintenance(options: { config: Config; state: StateConnections; log: Logger; queue: Queue; slack?: WebClient; metrics?: PachbackupMetrics; fallbackZone?: string }) {
  const { config, state, log, queue } = options;
  const alerter = options.slack
    ? createStaleBackupAlerter({
        client: options.slack,
        config,
        runs: state.runs,
        redis: state.redis,
        log: log.child({ component: 'stale-backups' }),
        clustersSeen: createClustersSeen(state.pool),
        ...(options.fallbackZone ? { fallbackZone: options.fallbackZone } : {}),
        lastFromStore: async (cluster) => {
          const adapters = clusterAdapters(cluster);
          try {
            const b = (await adapters.catalog.list(cluster.name)).backups[0];
            return b && { id: b.manifest.id, completedAt: b.manifest.completedAt };
          } finally {
            adapters.close();
          }
        },
      })
    : undefined;

  return {
    /** Makes the job schedulers match the config (retention only where a policy is set). */
    async sync(): Promise<void> {
      await queue.upsertJobScheduler(`maintenance:${STALE_CHECK_JOB}`, { every: STALE_CHECK_EVERY_MS }, { name: STALE_CHECK_JOB, data: {} });
      for (const cluster of Object.values(config.clusters)) {
        const id = `maintenance:${RETENTION_JOB}:${cluster.name}`;
        if (cluster.retention.keepLast !== undefined || cluster.retention.keepDays !== undefined) {
          await queue.upsertJobScheduler(id, { pattern: RETENTION_PATTERN, tz: 'UTC' }, { name: RETENTION_JOB, data: { cluster: cluster.name } });
        } else {
          await queue.removeJobScheduler(id);
        }
      }
    },

    /** Processes a maintenance job; false when the job is not one. */
    async process(name: string, data: { cluster?: string }): Promise<unknown> {
      if (name === STALE_CHECK_JOB) {
        if (options.metrics) await loadClusterMetrics(options.metrics, { config, runs: state.runs, pachdRunning: (cluster) => pachdRunning(config.clusters[cluster]!) });
        return alerter ? alerter.check() : [];
      }
      if (name === RETENTION_JOB) {
        const cluster = data.cluster ? config.clusters[data.cluster] : undefined;
        if (!cluster) return { skipped: 'cluster no longer configured' };
        const adapters = clusterAdapters(cluster);
        try {
          const result = await runRetention({ cluster, s3: adapters.backupS3, catalog: adapters.catalog, locks: state.locks, requestedBy: 'schedule:retention', dryRun: false });
          await state.audit.record({ actor: 'pachbackup', action: 'prune', cluster: cluster.name, outcome: 'succeeded', detail: { removed: result.plan.remove.map((r) => r.id), incomplete: result.incomplete, poolObjects: result.pool.objects, poolBytes: result.pool.bytes, ...(result.pool.skipped ? { poolSkipped: result.pool.skipped } : {}) } });
          return result;
        } catch (err) {
          // A busy cluster is not a failure: retention runs again tomorrow.
          if (err instanceof PachbackupError && err.code === 'conflict') return { skipped: describeError(err) };
          throw err;
        } finally {
          adapters.close();
        }
      }
      return undefined;
    },
  };
}
