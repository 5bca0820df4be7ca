import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PachbackupError } from '../../errors.js';
import { createSlackDriver, type DriverResponse, type SlackDriver } from './driver.js';
import { SlackApiError } from './message-content.js';
import { postToResponseUrl } from './response-url.js';
import { sandboxSeed } from './seed.js';
import { createSocketModeServer, type SocketModeOptions, type SocketModeServer } from './socket-mode.js';
import { renderTranscript } from './transcript.js';
import { bearerToken, createWebApi, readWebApiArgs, type RateLimits, type WebApi } from './web-api.js';
import {
  flattenMessages,
  SlackWorkspace,
  type ApiCallRecord,
  type EphemeralView,
  type MessageView,
  type SlackSnapshot,
  type WorkspaceSeed,
} from './workspace.js';

/**
 * The Slack simulator as an HTTP server on loopback. Routes:
 * - `POST /api/<method>` — the Web API (`web-api.ts`); point the app's `slackApiUrl` at `apiUrl`. Its
 *   `apps.connections.open` hands out Socket Mode URLs, `GET /link/?ticket=…` upgraded to a WebSocket
 *   (`socket-mode.ts`); `GET /socket-mode` shows the open connections and the wire log.
 * - `POST /upload/<file id>` — where files.getUploadURLExternal tells the app to send the bytes.
 * - `POST /response/<id>` — response URLs handed to the app with commands and clicks.
 * - `GET /messages` — the visible state as JSON (`SlackSnapshot`); `GET /calls` — the Web API call log;
 *   `GET /transcript` — the transcript as text; `GET /healthz`.
 * The driver (`driver.ts`) sends the app what people do, signed with `signingSecret`; other processes reach it at
 * `POST /driver/{slash-command,click,submit-view,open-home}` with the same arguments as JSON, and
 * `POST /driver/socket-disconnect` with `{ reason }` sends Socket Mode's `disconnect` to the app.
 */

/** How to start the simulator. */
export interface SlackSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The workspace; default the sandbox's (`seed.ts`). */
  workspace?: WorkspaceSeed;
  /** The app's signing secret: the driver signs requests with it. */
  signingSecret: string;
  /** Where the app receives slash commands, interactions and events over HTTP (e.g. `http://127.0.0.1:3000/slack/events`). */
  appEventsUrl?: string;
  /**
   * The app has Socket Mode on (as `manifest.yml` sets it): what people do reaches it as envelopes over the
   * WebSocket it opened with its app-level token (the workspace's `bot.app_token`), not over HTTP.
   */
  socketMode?: boolean;
  /** Socket Mode's server ping interval and disconnect grace (see `SocketModeOptions`). */
  socketModeTimings?: Pick<SocketModeOptions, 'pingIntervalMs' | 'closeGraceMs'>;
  /** Rate limits by method; default chat.update 50/min per channel. `{}` turns them all off. */
  rateLimits?: RateLimits;
  /** How long trigger ids stay valid for views.open (Slack: 3 s; default 30 s). */
  triggerTtlMs?: number;
}

/** Options of the wait helpers. */
export interface WaitOptions {
  /** Give up after this long (default 10 s), failing with the current transcript. */
  timeoutMs?: number;
  /** Named in the timeout error. */
  description?: string;
}

/** A running Slack simulator. */
export interface SlackSimulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** `<url>/api/` — the app's `clientOptions.slackApiUrl`. */
  readonly apiUrl: string;
  /** `<url>/messages` — GET: the visible state as JSON. */
  readonly messagesUrl: string;
  /** `<url>/calls` — GET: every Web API call, oldest first. */
  readonly callsUrl: string;
  /** `<url>/transcript` — GET: the transcript as text. */
  readonly transcriptUrl: string;
  /** Where the app listens, once known. */
  readonly eventsUrl: string | undefined;
  readonly workspace: SlackWorkspace;
  readonly driver: SlackDriver;
  /** Rate limits and injected failures. */
  readonly webApi: WebApi;
  /** Socket Mode: its connections, `disconnect` messages, and the wire log. */
  readonly socketMode: SocketModeServer;
  /** Tells the driver where the app listens. */
  setAppEventsUrl(url: string): void;
  /** The visible state (same as GET messagesUrl). */
  snapshot(): SlackSnapshot;
  /** The Web API call log (same as GET callsUrl). */
  calls(): ApiCallRecord[];
  /** The transcript of the current state. */
  transcript(): string;
  /** Resolves with the first message (channel message or reply, in its current version) matching `predicate`. */
  waitForMessage(predicate: (message: MessageView) => boolean, options?: WaitOptions): Promise<MessageView>;
  /** Resolves with the first ephemeral message matching `predicate`. */
  waitForEphemeral(predicate: (message: EphemeralView) => boolean, options?: WaitOptions): Promise<EphemeralView>;
  /** Resolves with the first Web API call matching `predicate`. */
  waitForCall(predicate: (call: ApiCallRecord) => boolean, options?: WaitOptions): Promise<ApiCallRecord>;
  /** Resolves with the first non-undefined value of `probe`, evaluated now and after every change. */
  waitFor<T>(probe: (state: SlackSnapshot) => T | undefined, options?: WaitOptions): Promise<T>;
  /**
   * Fault hook for tests: the next Web API call matching `match` is served — its effect (a message posted) is
   * visible at once — but its answer is held until `release()`: the window in which a client that dies never learns
   * its call succeeded. `reached` resolves when such a call has been served.
   */
  holdAnswer(match: (call: { method: string; args: Record<string, unknown> }) => boolean): { reached: Promise<void>; release(): void };
  /** Stops the server; pending waits fail. */
  close(): Promise<void>;
}

/** An answer being held (see `SlackSimulator.holdAnswer`). */
interface HeldAnswer {
  match: (call: { method: string; args: Record<string, unknown> }) => boolean;
  reached: () => void;
  released: Promise<void>;
}

/** The largest request body accepted (file uploads included). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Starts the simulator and resolves once it listens. */
export async function startSlackSimulator(options: SlackSimulatorOptions): Promise<SlackSimulator> {
  const workspace = new SlackWorkspace(options.workspace ?? sandboxSeed());
  let baseUrl = '';
  let appEventsUrl = options.appEventsUrl;
  const socketMode = createSocketModeServer({
    appId: workspace.bot.app_id,
    appToken: () => workspace.bot.app_token,
    baseUrl: () => baseUrl,
    ...options.socketModeTimings,
  });
  const webApi = createWebApi(workspace, {
    baseUrl: () => baseUrl,
    openSocketConnection: (token) => socketMode.openConnection(token),
    ...(options.rateLimits !== undefined && { rateLimits: options.rateLimits }),
    ...(options.triggerTtlMs !== undefined && { triggerTtlMs: options.triggerTtlMs }),
  });
  const driver = createSlackDriver({
    workspace,
    signingSecret: options.signingSecret,
    simulatorUrl: () => baseUrl,
    appEventsUrl: () => appEventsUrl,
    socketMode: () => (options.socketMode ? socketMode : undefined),
  });

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'internal_error', detail: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });

  const holds: HeldAnswer[] = [];
  const releases = new Set<() => void>();

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/messages') return sendJson(res, 200, workspace.snapshot());
    if (req.method === 'GET' && path === '/calls') return sendJson(res, 200, { calls: workspace.apiCalls() });
    if (req.method === 'GET' && path === '/transcript') return sendText(res, 200, renderTranscript(workspace.snapshot()));
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/socket-mode') return sendJson(res, 200, { connections: socketMode.openConnections(), log: socketMode.log() });

    if (path.startsWith('/api/') && (req.method === 'POST' || req.method === 'GET')) {
      const raw = await readBody(req);
      let args: Record<string, unknown>;
      try {
        args = await readWebApiArgs(req.headers['content-type'], raw, url.searchParams);
      } catch (err) {
        if (err instanceof SlackApiError || err instanceof SyntaxError) return sendJson(res, 200, { ok: false, error: 'invalid_form_data' });
        throw err;
      }
      const token = bearerToken(req.headers.authorization);
      const method = decodeURIComponent(path.slice('/api/'.length));
      const answer = webApi.call({ method, args, ...(token !== undefined && { bearer: token }) });
      const held = holds.find((h) => h.match({ method, args }));
      if (held) {
        holds.splice(holds.indexOf(held), 1);
        held.reached();
        await held.released;
        if (res.destroyed) return;
      }
      return sendJson(res, answer.status, answer.body, answer.headers);
    }

    if (req.method === 'POST' && path.startsWith('/upload/')) {
      const id = decodeURIComponent(path.slice('/upload/'.length));
      const file = workspace.file(id);
      if (!file) return sendText(res, 404, 'file_not_found');
      const bytes = await uploadedBytes(req, await readBody(req));
      workspace.storeFileBytes(id, bytes);
      return sendText(res, 200, `OK - ${bytes.length}`);
    }

    if (req.method === 'POST' && path.startsWith('/response/')) {
      const raw = await readBody(req);
      let payload: Record<string, unknown>;
      try {
        payload = await readWebApiArgs(req.headers['content-type'], raw, new URLSearchParams());
        if (typeof payload.payload === 'string') payload = JSON.parse(payload.payload) as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, { ok: false, error: 'invalid_payload' });
      }
      const answer = postToResponseUrl(workspace, decodeURIComponent(path.slice('/response/'.length)), payload);
      return sendJson(res, answer.status, answer.body);
    }

    // The person-side driver over HTTP, for processes other than this one (the sandbox's demo, a shell).
    if (req.method === 'POST' && path.startsWith('/driver/')) {
      let input: Record<string, unknown>;
      try {
        input = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, { ok: false, error: 'invalid_json' });
      }
      const action = path.slice('/driver/'.length);
      const run: Record<string, () => Promise<DriverResponse | undefined>> = {
        'slash-command': () => driver.slashCommand(input as unknown as Parameters<SlackDriver['slashCommand']>[0]),
        click: () => driver.clickButton(input as unknown as Parameters<SlackDriver['clickButton']>[0]),
        'submit-view': () => driver.submitView(input as unknown as Parameters<SlackDriver['submitView']>[0]),
        'open-home': () => driver.openHome(String(input.userId)),
      };
      if (action === 'socket-disconnect') {
        const reason = input.reason === 'warning' || input.reason === 'link_disabled' ? input.reason : 'refresh_requested';
        return sendJson(res, 200, { ok: true, connections: socketMode.disconnect(reason) });
      }
      if (!run[action]) return sendJson(res, 404, { ok: false, error: 'unknown_driver_action', detail: Object.keys(run).join(', ') });
      try {
        const answer = await run[action]!();
        return sendJson(res, 200, { ok: true, status: answer?.status, body: answer?.body, ackMs: answer?.ackMs, ...(answer && 'triggerId' in answer ? { triggerId: (answer as { triggerId: string }).triggerId } : {}) });
      } catch (err) {
        return sendJson(res, 200, { ok: false, error: err instanceof Error ? err.message : String(err) });
      }
    }

    return sendJson(res, 404, { ok: false, error: 'not_found', detail: `${req.method ?? ''} ${path}` });
  }

  server.on('upgrade', (req, socket, head) => {
    if (!socketMode.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${host}:${address.port}`;

  const pending = new Set<(err: Error) => void>();

  function waitFor<T>(probe: (state: SlackSnapshot) => T | undefined, waitOptions: WaitOptions = {}): Promise<T> {
    const timeoutMs = waitOptions.timeoutMs ?? 10_000;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const check = (): void => {
        if (settled) return;
        let value: T | undefined;
        try {
          value = probe(workspace.snapshot());
        } catch (err) {
          finish();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (value !== undefined) {
          finish();
          resolve(value);
        }
      };
      const abort = (err: Error): void => {
        finish();
        reject(err);
      };
      const timer = setTimeout(() => {
        const what = waitOptions.description ?? 'a matching Slack state';
        const shows = renderTranscript(workspace.snapshot());
        abort(new PachbackupError('timeout', `gave up after ${timeoutMs} ms waiting for ${what}; the workspace shows:\n${shows}`));
      }, timeoutMs);
      const unsubscribe = workspace.onChange(check);
      function finish(): void {
        settled = true;
        clearTimeout(timer);
        unsubscribe();
        pending.delete(abort);
      }
      pending.add(abort);
      check();
    });
  }

  return {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/`,
    messagesUrl: `${baseUrl}/messages`,
    callsUrl: `${baseUrl}/calls`,
    transcriptUrl: `${baseUrl}/transcript`,
    get eventsUrl() {
      return appEventsUrl;
    },
    workspace,
    driver,
    webApi,
    socketMode,
    setAppEventsUrl(url) {
      appEventsUrl = url;
    },
    snapshot: () => workspace.snapshot(),
    calls: () => workspace.apiCalls(),
    transcript: () => renderTranscript(workspace.snapshot()),
    waitFor,
    waitForMessage: (predicate, o) =>
      waitFor((s) => flattenMessages(s).find(predicate), { description: 'a matching message', ...o }),
    waitForEphemeral: (predicate, o) => waitFor((s) => s.ephemerals.find(predicate), { description: 'a matching ephemeral message', ...o }),
    waitForCall: (predicate, o) => waitFor(() => workspace.apiCalls().find(predicate), { description: 'a matching Web API call', ...o }),
    holdAnswer(match) {
      let reached!: () => void;
      let release!: () => void;
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      releases.add(release);
      holds.push({ match, reached, released });
      return {
        reached: reachedPromise,
        release() {
          releases.delete(release);
          release();
        },
      };
    },
    async close() {
      for (const release of releases) release();
      releases.clear();
      for (const abort of [...pending]) abort(new PachbackupError('cancelled', 'the Slack simulator was closed'));
      socketMode.close();
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new PachbackupError('usage', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** The file bytes of an upload: the first file part of a multipart body (what @slack/web-api sends), or the raw body. */
async function uploadedBytes(req: IncomingMessage, raw: Buffer): Promise<Buffer> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data')) return raw;
  const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
  for (const value of form.values()) {
    if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer());
  }
  const first = form.values().next();
  return Buffer.from(first.done ? '' : String(first.value));
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
