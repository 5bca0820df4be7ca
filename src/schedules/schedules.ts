import type { Config } from '../config/config.js';
import { DEFAULT_MIN_INTERVAL_SECONDS, configSchedules, intervalProblem, newScheduleId, type Schedule } from './schedule.js';
import type { ScheduleJobs } from './schedule-jobs.js';
import type { ScheduleStore } from './schedule-store.js';

/**
 * The outcome of adding a schedule: the new one; or not added — the cluster already has one with this cron and
 * zone (`existing`), or its runs would come too close together (`problem`).
 */
export type AddScheduleResult = { added: true; schedule: Schedule } | { added: false; reason: 'duplicate'; existing: Schedule } | { added: false; reason: 'too-frequent'; problem: string };

/** The outcome of removing a schedule. `config`: it is defined in the config file and can only be removed there. */
export type RemoveScheduleResult =
  | { removed: true; schedule: Schedule; /** The heads-up already posted for the next run, which will not happen now. */ postedHeadsUp?: { channel: string; ts: string; runAt: number } }
  | { removed: false; reason: 'unknown' } | { removed: false; reason: 'config'; schedule: Schedule };

/**
 * Every schedule, wherever it is defined — the config file's and those made in Slack (state database) — and
 * the changes Slack may make: add and remove its own, each change applied to the BullMQ job schedulers at once so
 * no restart is needed. The config file's schedules change only with the file (workers apply it when they start).
 * Schedules of clusters no longer in the config are left out: nothing could run them.
 */
/**
 * Every schedule: the config file's, then those made in Slack (of clusters still configured). Read without
 * installing anything, as `schedule list` does in Slack and in the CLI.
 */
export async function listSchedules(config: Config, store: Pick<ScheduleStore, 'list'>, fromConfig = configSchedules(config.clusters)): Promise<Schedule[]> {
  const made = (await store.list()).filter((s) => config.clusters[s.cluster] !== undefined);
  return [...fromConfig, ...made];
}

export function createSchedules(deps: {
  config: Config;
  store: ScheduleStore;
  jobs: Pick<ScheduleJobs, 'install' | 'uninstall' | 'sync'>;
  /** How close two runs of a schedule made in Slack may be (default 15 min; the config file's are not limited). */
  minIntervalSeconds?: number;
}) {
  const { config, store, jobs } = deps;
  const minIntervalSeconds = deps.minIntervalSeconds ?? DEFAULT_MIN_INTERVAL_SECONDS;
  const fromConfig = configSchedules(config.clusters);

  const list = () => listSchedules(config, store, fromConfig);

  return {
    list,

    async get(id: string): Promise<Schedule | undefined> {
      const schedule = fromConfig.find((s) => s.id === id) ?? (await store.get(id));
      return schedule && config.clusters[schedule.cluster] ? schedule : undefined;
    },

    /**
     * Adds a Slack-made schedule and installs its job scheduler. Not added: a duplicate (same cluster, cron and
     * zone), or one whose runs come closer than the minimum interval.
     */
    async add(input: { cluster: string; cron: string; timezone: string; headsUpMinutes: number; createdBy: string }): Promise<AddScheduleResult> {
      const problem = intervalProblem(input.cron, input.timezone, minIntervalSeconds);
      if (problem !== undefined) return { added: false, reason: 'too-frequent', problem };
      const same = (s: Schedule) => s.cluster === input.cluster && s.cron === input.cron && s.timezone === input.timezone;
      const existing = (await list()).find(same);
      if (existing) return { added: false, reason: 'duplicate', existing };
      const stored = await store.add({ id: newScheduleId(), ...input });
      if (!stored) {
        const raced = (await store.list({ cluster: input.cluster })).find(same);
        if (raced) return { added: false, reason: 'duplicate', existing: raced };
        throw new Error(`could not store the schedule of ${input.cluster}`);
      }
      try {
        await jobs.install(stored);
      } catch (err) {
        // Keep the database and the queue in agreement: a schedule that cannot run is not kept.
        await store.remove(stored.id).catch(() => undefined);
        throw err;
      }
      return { added: true, schedule: stored };
    },

    /** Removes a Slack-made schedule and its job scheduler. */
    async remove(id: string): Promise<RemoveScheduleResult> {
      const configured = fromConfig.find((s) => s.id === id);
      if (configured) return { removed: false, reason: 'config', schedule: configured };
      const removed = await store.remove(id);
      if (!removed) return { removed: false, reason: 'unknown' };
      const { postedHeadsUp } = await jobs.uninstall(id);
      return { removed: true, schedule: removed, ...(postedHeadsUp ? { postedHeadsUp } : {}) };
    },

    /** Makes the queue's job schedulers match every schedule (a worker's start). */
    async sync() {
      return jobs.sync(await list());
    },
  };
}

export type Schedules = ReturnType<typeof createSchedules>;
