import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { SANDBOX_APP_TOKEN, SANDBOX_BOT_TOKEN } from '../../../src/sandbox/slack-sim/seed.js';
import type { SlackSimulator } from '../../../src/sandbox/slack-sim/server.js';

/** The signing secret the test apps and the simulator share. */
export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789';

/** How a test app receives what people do: Bolt's HTTP receiver, or its Socket Mode receiver. */
export type SlackMode = 'http' | 'socket';
export const SLACK_MODES: readonly SlackMode[] = ['http', 'socket'];

/** A real Bolt app, pointed at the simulator both ways. */
export interface RunningBoltApp {
  app: App;
  /** Where it listens (HTTP mode). */
  eventsUrl?: string;
  stop(): Promise<void>;
}

/**
 * Builds a Bolt app whose Web API calls go to the simulator, lets `register` add listeners and starts it: over
 * HTTP on a free port (and tells the simulator's driver where), or in Socket Mode with the sandbox's app-level
 * token (the simulator must have been started with `socketMode: true`).
 */
export async function startBoltApp(sim: SlackSimulator, register: (app: App) => void, mode: SlackMode = 'http'): Promise<RunningBoltApp> {
  const common = { token: SANDBOX_BOT_TOKEN, clientOptions: { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 } }, logLevel: LogLevel.ERROR };
  if (mode === 'socket') {
    const app = new App({ ...common, appToken: SANDBOX_APP_TOKEN, socketMode: true });
    register(app);
    await app.start();
    return { app, stop: () => app.stop() as Promise<void> };
  }
  const app = new App({ ...common, signingSecret: TEST_SIGNING_SECRET });
  register(app);
  const server = await app.start({ port: 0, host: '127.0.0.1' });
  const { port } = server.address() as AddressInfo;
  const eventsUrl = `http://127.0.0.1:${port}/slack/events`;
  sim.setAppEventsUrl(eventsUrl);
  return { app, eventsUrl, stop: () => app.stop() as Promise<void> };
}
