import { WebClient } from '@slack/web-api';
import { InvalidArgumentError, type Command } from 'commander';
import { DateTime } from 'luxon';
import type { Config } from '../config/config.js';
import { defaultConfigPath, loadConfig } from '../config/load-config.js';
import { describeError, PachbackupError } from '../errors.js';
import { estimateBackup } from '../estimate/estimate-backup.js';
import { requestCancel } from '../jobs/cancel-requests.js';
import { cancelRun } from '../jobs/cancel-run.js';
import { createOperationsQueue } from '../jobs/operations-queue.js';
import { clusterAdapters, clusterNamed } from '../runtime/cluster-adapters.js';
import { connectState, type StateConnections } from '../runtime/connect-state.js';
import { createScheduleStore } from '../schedules/schedule-store.js';
import { scheduleView } from '../schedules/schedule-view.js';
import { listSchedules } from '../schedules/schedules.js';
import { showCancelledBeforeStart } from '../slack/handlers/cancel-run.js';
import { slackClientOptions } from '../slack/start-slack-app.js';
import { clusterStatusBlocks } from '../slack/views/cluster-status.js';
import { buildEstimateView } from '../slack/views/estimate-view.js';
import { buildRunHistory } from '../slack/views/run-history.js';
import { buildScheduleList } from '../slack/views/schedule-list.js';
import type { ClusterStatusView } from '../slack/views/view-models.js';
import { clusterStatus } from '../status/cluster-status.js';
import { readRunHistory } from '../status/run-history.js';
import { cliActor, print } from './cli-session.js';
import { terminalText } from './terminal-text.js';

/**
 * Exit codes of the on-call commands (besides 0, and 2 for bad input or config, as every command):
 * - `status` 3: a cluster needs someone — it cannot be reached, or it is paused with no operation running on it;
 * - `cancel` 1: nothing was cancelled (the run already ended, or no worker is running it to hear the request);
 * - any 1: the command itself failed (the state database, Redis or the cluster could not be read).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, needsAttention: 3 } as const;

interface CommonOptions {
  config: string;
  json?: boolean;
}

/** The CLI reader's own time zone: Slack shows each reader theirs, the terminal shows its user's. */
const localZone = (): string => DateTime.local().zoneName ?? 'UTC';

/** Runs `fn` with the state database and Redis, closed afterwards. */
async function withState<T>(config: Config, fn: (state: StateConnections) => Promise<T>): Promise<T> {
  const state = await connectState(config);
  try {
    return await fn(state);
  } finally {
    await state.close();
  }
}

/** A cluster that cannot be reached, or paused with nothing running on it (a pause left behind). */
export function needsAttention(view: ClusterStatusView): boolean {
  return !view.reachable || (view.paused && !view.running);
}

/**
 * `pachbackup status|estimate|history|cancel|schedule list`: the Slack commands the on-call person needs first,
 * for when Slack is down. Each reads through the same read models and renders the same view as its Slack twin,
 * shown as plain text (`terminal-text.ts`) or, with `--json`, as the view's data.
 */
export function registerOnCallCommands(program: Command): void {
  const withConfig = (cmd: Command) => cmd.option('-c, --config <file>', 'config file', defaultConfigPath()).option('--json', 'print JSON instead of text');

  withConfig(program.command('status').description(`every cluster (or one): pachd and workers, paused or not, the running operation, the last good backup (exit ${EXIT.needsAttention} when one is unreachable or left paused)`))
    .option('--cluster <name>', 'only this cluster')
    .action(async (opts: CommonOptions & { cluster?: string }) => {
      const config = loadConfig(opts.config);
      const clusters = opts.cluster ? [clusterNamed(config, opts.cluster)] : Object.values(config.clusters);
      const views = await withState(config, (state) =>
        Promise.all(
          clusters.map(async (cluster) => {
            const adapters = clusterAdapters(cluster);
            try {
              return await clusterStatus({ cluster, workloads: adapters.workloads, catalog: adapters.catalog, locks: state.locks, runs: state.runs });
            } finally {
              adapters.close();
            }
          }),
        ),
      );
      const zone = localZone();
      print(opts.json, views, () => views.map((v) => terminalText({ text: '', blocks: clusterStatusBlocks(v) }, zone)).join('\n\n'));
      process.exitCode = views.some(needsAttention) ? EXIT.needsAttention : EXIT.ok;
    });

  withConfig(program.command('estimate').description('how long a backup started now would pause the cluster, step by step, and what the estimate is based on'))
    .option('--cluster <name>', 'which configured cluster')
    .action(async (opts: CommonOptions & { cluster?: string }) => {
      const config = loadConfig(opts.config);
      const cluster = clusterNamed(config, opts.cluster);
      const estimate = await withState(config, async (state) => {
        const adapters = clusterAdapters(cluster);
        try {
          return (await estimateBackup({ pool: state.pool, cluster, workloads: adapters.workloads, clusterS3: adapters.clusterS3, catalog: adapters.catalog })).estimate;
        } catch (err) {
          throw new PachbackupError('unavailable', `could not estimate a backup of ${cluster.name}: ${describeError(err)}`, { cause: err, hint: `\`pachbackup status --cluster ${cluster.name}\` shows whether the cluster answers` });
        } finally {
          adapters.close();
        }
      });
      print(opts.json, { cluster: cluster.name, estimate }, () => terminalText(buildEstimateView({ cluster: cluster.name, clusterDisplayName: cluster.displayName, estimate }), localZone()));
    });

  withConfig(program.command('history').description("the cluster's latest runs: phase, who asked, estimated against actual downtime"))
    .option('--cluster <name>', 'which configured cluster')
    .option('--limit <n>', 'how many runs (newest first)', (v: string) => positiveInt(v, '--limit'), 20)
    .action(async (opts: CommonOptions & { cluster?: string; limit: number }) => {
      const config = loadConfig(opts.config);
      const cluster = clusterNamed(config, opts.cluster);
      const runs = await withState(config, (state) => readRunHistory(state.runs, cluster.name, { limit: opts.limit }));
      const zone = localZone();
      print(opts.json, { cluster: cluster.name, runs }, () => terminalText(buildRunHistory({ cluster: cluster.name, clusterDisplayName: cluster.displayName, runs, zone }), zone));
    });

  withConfig(program.command('cancel').description('cancel a run: taken off the queue if no worker started it; otherwise its worker stops it, resuming the cluster first').argument('<run-id>'))
    .action(async (runId: string, opts: CommonOptions) => {
      const config = loadConfig(opts.config);
      const result = await withState(config, async (state) => {
        const connection = state.redis.duplicate({ maxRetriesPerRequest: null });
        const queue = createOperationsQueue(connection, config.redis.prefix);
        try {
          const actor = cliActor();
          const outcome = await cancelRun(
            { actor, by: actor, runId, mayCancel: async () => true }, // whoever holds the config may do anything the CLI does
            { config, runs: state.runs, audit: state.audit, queue, requestCancel: (id) => requestCancel(state.redis, config.redis.prefix, id) },
          );
          if (outcome.outcome === 'cancelled-before-start' && config.slack) {
            const slack = new WebClient(config.slack.botToken, { ...slackClientOptions(config.slack), retryConfig: { retries: 0 }, timeout: 5000 });
            await showCancelledBeforeStart(slack, outcome.run, outcome.cluster, outcome.error);
          }
          return outcome;
        } finally {
          await queue.close();
          connection.disconnect();
        }
      });
      if (result.outcome === 'unknown-run') throw new PachbackupError('usage', result.problem.replace(/`/g, ''), { hint: '`pachbackup history --cluster NAME` lists the runs' });
      const ok = result.outcome === 'cancelled-before-start' || (result.outcome === 'requested' && result.heardBy > 0);
      const text =
        result.outcome === 'requested' && result.heardBy === 0
          ? `${result.run.id} is ${result.run.phase}, but no worker heard the cancel: it is not running in a worker (a \`pachbackup backup\` or \`restore\` in a terminal stops with Ctrl-C there), or its worker died — then the next worker to start, or \`pachbackup recover\`, ends it and resumes ${result.run.cluster}.`
          : 'text' in result
            ? result.text
            : `${result.problem}: nothing to cancel`;
      print(opts.json, { runId, outcome: result.outcome, cancelled: ok, message: text }, () => text);
      process.exitCode = ok ? EXIT.ok : EXIT.failed;
    });

  const schedule = program.command('schedule').description('backup schedules');
  withConfig(schedule.command('list').description('every schedule — from the config file and made in Slack — with its next run'))
    .action(async (opts: CommonOptions) => {
      const config = loadConfig(opts.config);
      const schedules = await withState(config, async (state) => {
        return (await listSchedules(config, createScheduleStore(state.pool))).map((s) => scheduleView(s, { config }, 1));
      });
      print(opts.json, schedules, () => terminalText(buildScheduleList({ schedules }), localZone()));
    });
}

function positiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError(`${option} takes a whole number from 1 to 1000`);
  return n;
}
