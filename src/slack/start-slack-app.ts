import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, defaultBodyLimit, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { SlackConfig } from '../config/config.js';
import type { Logger } from '../log.js';
import { createAuthorizer } from '../access/authorizer.js';
import { registerListeners } from './listeners/register-listeners.js';
import type { SlackAppDeps } from './app-deps.js';
import type { ReplayGuard } from './replay-guard.js';
import { createSecretScrubbingFetch } from './secret-scrubbing-fetch.js';

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

/** Options of every Slack Web API client pachbackup makes: the configured API URL, and nothing secret sent. */
export function slackClientOptions(slack: Pick<SlackConfig, 'apiUrl'>): WebClientOptions {
  return { ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}), fetch: createSecretScrubbingFetch() };
}

export interface RunningSlackApp {
  app: App;
  /** The HTTP port in HTTP mode. */
  port?: number;
  stop(): Promise<void>;
}

/**
 * Starts the Bolt app: Socket Mode when an app-level token is configured, otherwise HTTP on `slack.port` with
 * every request's signature and timestamp checked — once by `replayGuard` (each signed request accepted once, no
 * timestamp more than five minutes off either way), then by Bolt — and HTTP 401 otherwise. Listeners ack first —
 * within Slack's 3 seconds — and do their work after.
 */
export async function startSlackApp(options: {
  slack: SlackConfig;
  deps: Omit<SlackAppDeps, 'authorizer'> & { authorizer?: SlackAppDeps['authorizer'] };
  log: Logger;
  host?: string;
  replayGuard: ReplayGuard;
}): Promise<RunningSlackApp> {
  const { slack, log } = options;
  const common = {
    token: slack.botToken,
    logger: boltLogger(log.child({ component: 'bolt' })),
    clientOptions: slackClientOptions(slack),
  };
  const receiver = slack.appToken ? undefined : new HTTPReceiver({ signingSecret: slack.signingSecret, processBeforeResponse: false, logger: common.logger });
  if (receiver) guardRequests(receiver, options.replayGuard, log);
  const app = receiver ? new App({ ...common, receiver }) : new App({ ...common, appToken: slack.appToken, socketMode: true });
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

const EVENTS_PATH = '/slack/events';

/**
 * Puts `guard` in front of Bolt on the events endpoint: the body is read once (Bolt reuses `rawBody`), a
 * refused request is answered 401 and never reaches a listener, and Slack's unsigned `ssl_check` goes to Bolt,
 * which answers it without running anything.
 */
function guardRequests(receiver: HTTPReceiver, guard: ReplayGuard, log: Logger): void {
  const handle = receiver.requestListener;
  receiver.requestListener = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://localhost').pathname !== EVENTS_PATH) return handle(req, res);
    void readBody(req)
      .then(async (rawBody) => {
        if (rawBody === undefined) return answer(res, 413);
        Object.assign(req, { rawBody });
        if (/^ssl_check=1(&|$)/.test(rawBody.toString('latin1'))) return handle(req, res);
        const verdict = await guard(req.headers, rawBody);
        if (verdict.ok) return handle(req, res);
        log.warn({ reason: verdict.reason }, 'refused a Slack request (401)');
        answer(res, 401);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'could not check a Slack request; answered 503');
        answer(res, 503);
      });
  };
}

/** The request body, or undefined when it is larger than Bolt accepts. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > defaultBodyLimit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function answer(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}
