import type { AddressInfo } from 'node:net';
import { App, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { SlackConfig } from '../config/config.js';
import type { Logger } from '../log.js';
import { createAuthorizer } from './authorize.js';
import { registerListeners } from './listeners/register-listeners.js';
import type { SlackAppDeps } from './app-deps.js';

/** Bolt's logger interface over pino, so the app's logs are one JSON stream with secrets redacted. */
function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...msg) => log.debug(msg.map(String).join(' ')),
    info: (...msg) => log.info(msg.map(String).join(' ')),
    warn: (...msg) => log.warn(msg.map(String).join(' ')),
    error: (...msg) => log.error(msg.map(String).join(' ')),
    setLevel: (l) => (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

export interface RunningSlackApp {
  app: App;
  /** The HTTP port in HTTP mode. */
  port?: number;
  stop(): Promise<void>;
}

/**
 * Starts the Bolt app: Socket Mode when an app-level token is configured, otherwise HTTP on `slack.port` with
 * every request's signature and timestamp checked by Bolt (HTTP 401 otherwise). Listeners ack first — within
 * Slack's 3 seconds — and do their work after.
 */
export async function startSlackApp(options: { slack: SlackConfig; deps: Omit<SlackAppDeps, 'authorizer'> & { authorizer?: SlackAppDeps['authorizer'] }; log: Logger; host?: string }): Promise<RunningSlackApp> {
  const { slack, log } = options;
  const common = {
    token: slack.botToken,
    logger: boltLogger(log.child({ component: 'bolt' })),
    clientOptions: { ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}) },
  };
  const app = slack.appToken
    ? new App({ ...common, appToken: slack.appToken, socketMode: true })
    : new App({ ...common, signingSecret: slack.signingSecret, processBeforeResponse: false });
  registerListeners(app, { ...options.deps, authorizer: options.deps.authorizer ?? createAuthorizer(app.client) });
  app.error(async (err) => {
    log.error({ err }, 'unhandled error in a Slack listener');
  });
  if (slack.appToken) {
    await app.start();
    return { app, stop: () => app.stop() as Promise<void> };
  }
  const server = await app.start({ port: slack.port, host: options.host ?? '0.0.0.0' });
  const { port } = server.address() as AddressInfo;
  return { app, port, stop: () => app.stop() as Promise<void> };
}
