import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { ClusterConfig, Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { RunPhase } from '../runner/run-phase.js';
import type { ClustersSeen } from '../state/clusters-seen.js';
import { buildStaleBackupAlert, buildStaleBackupResolved, buildStaleBackupSummary, type StaleBackupAlertView } from '../slack/views/stale-backup-alert.js';
import type { RunStore } from '../state/run-store.js';

/** How old the last good backup of a cluster may get before it is stale, unless the cluster says otherwise. */
export const DEFAULT_STALE_AFTER_SECONDS = 26 * 3600;
/** How long a stale cluster stays quiet after an alert before it is alerted again. */
export const DEFAULT_REALERT_AFTER_SECONDS = 24 * 3600;

const GOOD_PHASES: readonly RunPhase[] = ['succeeded', 'partially-failed'];

/** A cluster's config with its alert settings (`clusters.<name>.alerts.staleAfterHours`), when the config has them. */
export type ClusterWithAlerts = ClusterConfig & { alerts?: { staleAfterHours?: number } };

/** The staleness threshold of a cluster: `alerts.staleAfterHours`, or 26 h (a daily backup with 2 h of slack). */
export function staleThresholdSeconds(cluster: ClusterWithAlerts): number {
  const hours = cluster.alerts?.staleAfterHours;
  return hours !== undefined && hours > 0 ? hours * 3600 : DEFAULT_STALE_AFTER_SECONDS;
}

/** A cluster's last good backup against its threshold. */
export interface ClusterBackupAge {
  cluster: string;
  displayName: string;
  thresholdSeconds: number;
  /** The last backup that succeeded or partially failed (still usable); absent when there is none. */
  lastGoodBackup?: { id: string; completedAt: string };
  /** Seconds since the last good backup finished; absent when there is none. */
  ageSeconds?: number;
  /** When pachbackup first saw the cluster (ISO), when known. */
  firstSeenAt?: string;
  /** The backup of the cluster being taken now, if any. */
  backupRunning?: string;
  /** Has a good backup no older than the threshold. */
  covered: boolean;
  /**
   * Not covered, and worth an alert: the threshold has also passed since the cluster was first seen (a new cluster
   * gets its interval for a first backup), and no backup of it is running (it may well be the one that covers it).
   */
  stale: boolean;
}

/** Where `backupAges` looks when the state database has no good backup of a cluster (e.g. a new state database). */
export type LastBackupFromStore = (cluster: ClusterConfig) => Promise<{ id: string; completedAt: string } | undefined>;

/** Phases of a backup that is being taken (a queued one may wait for a worker that never comes: not counted). */
const TAKING: readonly RunPhase[] = ['validating', 'running'];

/**
 * The age of every configured cluster's last good backup, from the state database (and, for a cluster it knows
 * no good backup of, from `lastFromStore` — the backup store's catalog — when given), with whether a backup of it
 * is being taken and, with `clustersSeen`, when it was first seen (recording now for a new one). Rejects when the
 * state database cannot be read: "unknown" must not look like "fine" or like "stale".
 */
export async function backupAges(options: {
  config: { clusters: Record<string, ClusterWithAlerts> };
  runs: Pick<RunStore, 'listRuns'>;
  now?: Date;
  /** Default `staleThresholdSeconds` (the cluster's `alerts.staleAfterHours`, else 26 h). */
  thresholdSeconds?: (cluster: ClusterWithAlerts) => number;
  lastFromStore?: LastBackupFromStore;
  clustersSeen?: ClustersSeen;
}): Promise<ClusterBackupAge[]> {
  const at = options.now ?? new Date();
  const now = at.getTime();
  const thresholdOf = options.thresholdSeconds ?? staleThresholdSeconds;
  const clusters = Object.values(options.config.clusters);
  const seen = options.clustersSeen ? await options.clustersSeen.firstSeen(clusters.map((c) => c.name), at) : new Map<string, Date>();
  return Promise.all(
    clusters.map(async (cluster): Promise<ClusterBackupAge> => {
      const [[run], [taking]] = await Promise.all([
        options.runs.listRuns({ cluster: cluster.name, kind: 'backup', phases: GOOD_PHASES, limit: 1 }),
        options.runs.listRuns({ cluster: cluster.name, kind: 'backup', phases: TAKING, limit: 1 }),
      ]);
      const last = run
        ? { id: run.id, completedAt: (run.finishedAt ?? run.createdAt).toISOString() }
        : await options.lastFromStore?.(cluster).catch(() => undefined);
      const thresholdSeconds = thresholdOf(cluster);
      const firstSeen = seen.get(cluster.name);
      const base = {
        cluster: cluster.name,
        displayName: cluster.displayName,
        thresholdSeconds,
        ...(firstSeen ? { firstSeenAt: firstSeen.toISOString() } : {}),
        ...(taking ? { backupRunning: taking.id } : {}),
      };
      const ageSeconds = last ? Math.max(0, (now - Date.parse(last.completedAt)) / 1000) : undefined;
      const covered = ageSeconds !== undefined && ageSeconds <= thresholdSeconds;
      const givenTime = !firstSeen || (now - firstSeen.getTime()) / 1000 > thresholdSeconds;
      return { ...base, ...(last ? { lastGoodBackup: last, ageSeconds } : {}), covered, stale: !covered && givenTime && !taking };
    }),
  );
}

/** The clusters whose last good backup is older than their threshold, or that have none. */
export async function findStaleClusters(options: Parameters<typeof backupAges>[0]): Promise<ClusterBackupAge[]> {
  return (await backupAges(options)).filter((c) => c.stale);
}

/** What one `check()` did for one cluster. */
export interface Alerted {
  cluster: string;
  /** `alerted`: a new staleness episode; `repeated`: the same episode, past the re-alert interval; `resolved`: a good backup ended it. */
  action: 'alerted' | 'repeated' | 'resolved';
  channel: string;
  /** The posted message. */
  ts: string;
}

/** What Redis remembers of the last alert of a cluster. */
interface AlertRecord {
  /** The last good backup's id when alerted (`-` for none): a new good backup that goes stale is a new episode. */
  episode: string;
  alertedAt: number;
  channel?: string;
  ts?: string;
}

/**
 * Claims the alert of an episode atomically, so two processes running the check at once post it once: returns
 * the previous record ('' for none) when this caller should post, nil when the episode was alerted less than the
 * re-alert interval ago.
 */
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, record = pcall(cjson.decode, current)
  if ok and type(record) == 'table' and record.episode == ARGV[1] and tonumber(ARGV[2]) - tonumber(record.alertedAt or 0) < tonumber(ARGV[3]) then
    return false
  end
end
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
return current or ''
`;

const NO_BACKUP = '-';

/**
 * Alerts each cluster's ops channel (`clusters.<name>.slack.opsChannel`) when its last good backup is older than
 * its threshold, or when it has none — once the threshold has passed since the cluster was first seen too, and
 * never while a backup of it is being taken. Alerts once per staleness episode, again every `realertAfterSeconds`
 * (default 24 h) while the episode lasts, and when a good backup ends it, replies "resolved" in the alert's
 * thread and forgets it. What one check finds for one channel is one message (a summary when several clusters are
 * stale at once), and one reply per alert thread. What was alerted is kept in Redis (`<redis.prefix>:stale-backup-alert:<cluster>`),
 * so restarts and several processes do not repeat alerts. Clusters without an ops channel are only logged.
 * Meant to run on a schedule (every few minutes); `check()` rejects when the state database cannot be read.
 */
export function createStaleBackupAlerter(options: {
  client: Pick<WebClient, 'chat'>;
  config: Pick<Config, 'redis'> & { clusters: Record<string, ClusterWithAlerts> };
  runs: Pick<RunStore, 'listRuns'>;
  redis: Pick<Redis, 'eval' | 'set' | 'del' | 'getdel'>;
  log: Logger;
  now?: () => Date;
  realertAfterSeconds?: number;
  thresholdSeconds?: (cluster: ClusterWithAlerts) => number;
  lastFromStore?: LastBackupFromStore;
  /** When each cluster was first seen: a cluster gets its interval for a first backup before any alert. */
  clustersSeen: ClustersSeen;
  /** Zone of the date tokens' plain-text fallback; default UTC. */
  fallbackZone?: string;
}) {
  const { client, config, redis, log } = options;
  const clock = options.now ?? (() => new Date());
  const realertMs = (options.realertAfterSeconds ?? DEFAULT_REALERT_AFTER_SECONDS) * 1000;
  // Long enough to outlive any re-alert interval; a record left by a cluster removed from the config goes away.
  const recordTtlMs = Math.max(2 * realertMs, 30 * 24 * 3600 * 1000);
  const keyOf = (cluster: string) => `${config.redis.prefix}:stale-backup-alert:${cluster}`;
  const zone = options.fallbackZone ? { fallbackZone: options.fallbackZone } : {};
  /** Clusters already reported as stale with nowhere to alert: said once per process, not on every check. */
  const unreported = new Set<string>();

  const parse = (raw: string | null): AlertRecord | undefined => {
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as AlertRecord;
    } catch {
      return undefined;
    }
  };

  /** Claims the alert of `age`'s episode; the record that was there ('' for none), or null when alerted recently. */
  async function claim(age: ClusterBackupAge, now: Date): Promise<{ age: ClusterBackupAge; record: AlertRecord; previous: string } | undefined> {
    const episode = age.lastGoodBackup?.id ?? NO_BACKUP;
    const record: AlertRecord = { episode, alertedAt: now.getTime() };
    const previous = (await redis.eval(CLAIM, 1, keyOf(age.cluster), episode, String(now.getTime()), String(realertMs), JSON.stringify(record), String(recordTtlMs))) as string | null;
    return previous === null ? undefined : { age, record, previous };
  }

  /**
   * Posts the claimed alerts of one channel as one message (one cluster: its alert; several: a summary of them
   * all), so a burst — a worker starting with 41 stale clusters — is one message per channel, as Slack's rate of
   * about one message per second per channel wants. Not posted: every claim is put back, so the next check tries again.
   */
  async function alertChannel(channel: string, claims: { age: ClusterBackupAge; record: AlertRecord; previous: string }[], now: Date): Promise<Alerted[]> {
    const views = claims.map(({ age }): StaleBackupAlertView => ({
      cluster: age.cluster,
      displayName: age.displayName,
      ...(age.lastGoodBackup ? { lastGoodBackup: age.lastGoodBackup } : {}),
      thresholdSeconds: age.thresholdSeconds,
      now: now.toISOString(),
      ...zone,
    }));
    const message = views.length === 1 ? buildStaleBackupAlert(views[0]!) : buildStaleBackupSummary(views);
    try {
      const posted = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
      const ts = posted.ts!;
      const where = posted.channel ?? channel;
      const done: Alerted[] = [];
      for (const { age, record, previous } of claims) {
        await redis.set(keyOf(age.cluster), JSON.stringify({ ...record, channel: where, ts } satisfies AlertRecord), 'KEEPTTL');
        log.warn({ cluster: age.cluster, lastGoodBackup: age.lastGoodBackup?.id, ageSeconds: age.ageSeconds, thresholdSeconds: age.thresholdSeconds }, 'no recent good backup: alerted the ops channel');
        done.push({ cluster: age.cluster, action: parse(previous)?.episode === record.episode ? 'repeated' : 'alerted', channel: where, ts });
      }
      return done;
    } catch (err) {
      // Not posted: put back what was there, so the next check tries again.
      for (const { age, previous } of claims) {
        if (previous === '') await redis.del(keyOf(age.cluster));
        else await redis.set(keyOf(age.cluster), previous, 'PX', recordTtlMs);
      }
      throw err;
    }
  }

  /** Replies "resolved" once in each alert's thread, naming every cluster of it that has a good backup again. */
  async function resolveThread(record: { channel: string; ts: string }, ages: ClusterBackupAge[]): Promise<Alerted[]> {
    const views = ages.map((age) => ({ cluster: age.cluster, displayName: age.displayName, backup: age.lastGoodBackup!, ...zone }));
    const message = buildStaleBackupResolved(views);
    const posted = await client.chat.postMessage({ channel: record.channel, thread_ts: record.ts, text: message.text, blocks: message.blocks });
    log.info({ clusters: ages.map((a) => a.cluster) }, 'stale-backup alert resolved');
    return ages.map((age) => ({ cluster: age.cluster, action: 'resolved' as const, channel: posted.channel ?? record.channel, ts: posted.ts! }));
  }

  return {
    /** Checks every cluster once; returns the messages it posted. One cluster's Slack failure does not stop the others. */
    async check(): Promise<Alerted[]> {
      const now = clock();
      const ages = await backupAges({
        config,
        runs: options.runs,
        now,
        clustersSeen: options.clustersSeen,
        ...(options.thresholdSeconds ? { thresholdSeconds: options.thresholdSeconds } : {}),
        ...(options.lastFromStore ? { lastFromStore: options.lastFromStore } : {}),
      });
      const done: Alerted[] = [];
      const toAlert = new Map<string, { age: ClusterBackupAge; record: AlertRecord; previous: string }[]>();
      const toResolve = new Map<string, { record: { channel: string; ts: string }; ages: ClusterBackupAge[] }>();
      for (const age of ages) {
        const channel = config.clusters[age.cluster]?.slack?.opsChannel;
        try {
          if (age.covered) {
            unreported.delete(age.cluster);
            const record = parse(await redis.getdel(keyOf(age.cluster)));
            if (record?.channel && record.ts) {
              const thread = `${record.channel}/${record.ts}`;
              const group = toResolve.get(thread) ?? { record: { channel: record.channel, ts: record.ts }, ages: [] };
              group.ages.push(age);
              toResolve.set(thread, group);
            }
          } else if (!age.stale) {
            // New, or its backup is running: not yet a reason to alert, and nothing to resolve.
          } else if (!channel) {
            if (!unreported.has(age.cluster)) log.warn({ cluster: age.cluster, ageSeconds: age.ageSeconds }, 'no recent good backup, and no slack.opsChannel to alert');
            unreported.add(age.cluster);
          } else {
            const claimed = await claim(age, now);
            if (claimed) toAlert.set(channel, [...(toAlert.get(channel) ?? []), claimed]);
          }
        } catch (err) {
          log.error({ err, cluster: age.cluster }, 'stale-backup check failed for this cluster; the next check tries again');
        }
      }
      for (const { record, ages: resolved } of toResolve.values()) {
        try {
          done.push(...(await resolveThread(record, resolved)));
        } catch (err) {
          log.error({ err, clusters: resolved.map((a) => a.cluster) }, 'stale-backup resolution could not be posted');
        }
      }
      for (const [channel, claims] of toAlert) {
        try {
          done.push(...(await alertChannel(channel, claims, now)));
        } catch (err) {
          log.error({ err, channel, clusters: claims.map((c) => c.age.cluster) }, 'stale-backup alert could not be posted; the next check tries again');
        }
      }
      return done;
    },
  };
}

export type StaleBackupAlerter = ReturnType<typeof createStaleBackupAlerter>;
