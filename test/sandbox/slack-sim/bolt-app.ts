import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { SANDBOX_BOT_TOKEN } from '../../../src/sandbox/slack-sim/seed.js';
import type { SlackSimulator } from '../../../src/sandbox/slack-sim/server.js';

/** The signing secret the test apps and the simulator share. */
export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789';

/** A real Bolt app (HTTP receiver) on a random loopback port, pointed at the simulator both ways. */
export interface RunningBoltApp {
  app: App;
  eventsUrl: string;
  stop(): Promise<void>;
}

/**
 * Builds a Bolt app whose Web API calls go to the simulator, lets `register` add listeners, starts it on a
 * free port and tells the simulator's driver where it listens.
 */
export async function startBoltApp(sim: SlackSimulator, register: (app: App) => void): Promise<RunningBoltApp> {
  const app = new App({
    token: SANDBOX_BOT_TOKEN,
    signingSecret: TEST_SIGNING_SECRET,
    clientOptions: { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 } },
    logLevel: LogLevel.ERROR,
  });
  register(app);
  const server = await app.start({ port: 0, host: '127.0.0.1' });
  const { port } = server.address() as AddressInfo;
  const eventsUrl = `http://127.0.0.1:${port}/slack/events`;
  sim.setAppEventsUrl(eventsUrl);
  return { app, eventsUrl, stop: () => app.stop() as Promise<void> };
}
