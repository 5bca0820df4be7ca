import { startWorker } from '../jobs/start-worker.js';
import { createSlackRunObservers } from '../slack/run-observers.js';

/**
 * A worker as `pachbackup worker` and `serve --with-worker` compose it: given a Slack client, the Slack reporting
 * subscribes to every backup, restore and drill it runs (the jobs only emit run events and return results).
 */
export function startReportingWorker(options: Omit<Parameters<typeof startWorker>[0], 'observers'>): ReturnType<typeof startWorker> {
  const { slack, config, log, fallbackZone } = options;
  return startWorker({ ...options, ...(slack ? { observers: createSlackRunObservers({ client: slack, config, log, ...(fallbackZone ? { fallbackZone } : {}) }) } : {}) });
}
