import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { PachbackupError } from '../../errors.js';

/**
 * Slack's Socket Mode, the server side, as Slack documents it (docs.slack.dev, "Using Socket Mode"):
 * `apps.connections.open`, called with the app-level token (`xapp-…`), answers a one-time `ws://` URL; on
 * connecting, the app gets `hello`; then every slash command, interaction and event comes as an envelope
 * `{ envelope_id, type, payload, accepts_response_payload }` that the app acknowledges with
 * `{ envelope_id, payload? }` — the payload standing for the body of an HTTP answer (a command's message, a
 * view submission's `response_action`) where `accepts_response_payload` says it counts. `disconnect` messages
 * (`warning`, `refresh_requested`, `link_disabled`) ask the app to reconnect; the server pings, and answers the
 * app's pings. Envelopes are spread over the app's open connections in turn; an event whose connection closes
 * before its ack is sent again, with `retry_attempt`, on the next connection, as Slack retries events.
 * Everything that goes over the wire is kept in a log (`log()`), oldest first.
 */

/** What Slack sends in Socket Mode. */
export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** One envelope, as it goes over the WebSocket. */
export interface SocketEnvelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  /** Events only: 0 first, then 1, 2, … for retries. */
  retry_attempt?: number;
  retry_reason?: string;
}

/** How a delivery ended: acknowledged (with the ack's payload), or not. */
export type SocketDelivery =
  | { outcome: 'acked'; payload?: Record<string, unknown>; ms: number; envelope: SocketEnvelope }
  /** No connection was open to send it on (Slack: the user sees `dispatch_failed`). */
  | { outcome: 'no-connection'; ms: number; envelope: SocketEnvelope }
  /** The connection closed before the ack, and the envelope is not one Slack sends again. */
  | { outcome: 'closed'; ms: number; envelope: SocketEnvelope }
  /** No ack within the time allowed. */
  | { outcome: 'timeout'; ms: number; envelope: SocketEnvelope };

/** One entry of the wire log. */
export interface SocketModeLogEntry {
  at: string;
  /** Which connection (1, 2, …), or 0 for what happened outside one (a refused ticket, nothing to send on). */
  connection: number;
  event: 'open' | 'refused' | 'hello' | 'envelope' | 'ack' | 'stray-ack' | 'disconnect' | 'cut' | 'close' | 'retry' | 'no-connection' | 'timeout';
  envelope_id?: string;
  type?: string;
  detail?: unknown;
}

/** Settings of the Socket Mode side. */
export interface SocketModeOptions {
  /** The app's id, sent in `hello` and in the URL. */
  appId: string;
  /** The app-level token `apps.connections.open` accepts; read at call time (undefined: Socket Mode refused). */
  appToken: () => string | undefined;
  /** The simulator's base URL (`http://host:port`), read at call time: the WebSocket URL is on the same port. */
  baseUrl: () => string;
  /** How often the server pings each connection (default 10 s; @slack/socket-mode gives up after 30 s without one). */
  pingIntervalMs?: number;
  /** After `refresh_requested` or `link_disabled`, how long before the server closes a connection the app kept open (default 10 s). */
  closeGraceMs?: number;
  /** How long a URL from `apps.connections.open` stays good (default 30 s). */
  ticketTtlMs?: number;
}

/** The Socket Mode side of the simulator. */
export interface SocketModeServer {
  /** `apps.connections.open`: a one-time URL for the app-level token; a Slack error code otherwise. */
  openConnection(token: string): { ok: true; url: string } | { ok: false; error: string };
  /** Takes over an HTTP upgrade on the simulator's server; returns false when the path is not Socket Mode's. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Sends an envelope and waits for its ack (or gives up after `timeoutMs`). */
  deliver(type: EnvelopeType, payload: Record<string, unknown>, options: { timeoutMs: number; envelopeId?: string }): Promise<SocketDelivery>;
  /** Sends the same envelope again, as Slack does when it retries an event. */
  redeliver(envelope: SocketEnvelope, options: { timeoutMs: number }): Promise<SocketDelivery>;
  /**
   * Sends `disconnect` to every open connection. `warning` only warns; `refresh_requested` and `link_disabled`
   * stop sending on the connection and close it after the grace period if the app has not.
   */
  disconnect(reason: 'warning' | 'refresh_requested' | 'link_disabled'): number;
  /** Cuts every connection at once, without a close frame, as a network failure would; returns how many. */
  cut(): number;
  /** Connections that got `hello` and are not closing. */
  openConnections(): number;
  /** Resolves once at least `count` connections are open (after a refresh, when the app has reconnected). */
  waitForConnections(count: number, timeoutMs?: number): Promise<void>;
  log(): SocketModeLogEntry[];
  /** Closes every connection (a close frame, then the socket half a second later). */
  close(): void;
}

interface Connection {
  id: number;
  socket: WebSocket;
  /** No new envelopes: a disconnect was asked for. */
  draining: boolean;
  pinger: NodeJS.Timeout;
}

interface Pending {
  envelope: SocketEnvelope;
  connection: Connection;
  started: number;
  deadline: number;
  settle(delivery: SocketDelivery): void;
}

/** Where apps connect: `/link/?ticket=…&app_id=…`, as in Slack's `wss://wss-primary.slack.com/link/?ticket=…`. */
const LINK_PATH = '/link/';

/** Builds the Socket Mode side. */
export function createSocketModeServer(options: SocketModeOptions): SocketModeServer {
  const wss = new WebSocketServer({ noServer: true });
  const tickets = new Map<string, number>();
  const connections = new Set<Connection>();
  const pending = new Map<string, Pending>();
  const waiters = new Set<() => void>();
  const entries: SocketModeLogEntry[] = [];
  let nextConnectionId = 1;
  let turn = 0;
  const pingIntervalMs = options.pingIntervalMs ?? 10_000;
  const closeGraceMs = options.closeGraceMs ?? 10_000;
  const ticketTtlMs = options.ticketTtlMs ?? 30_000;

  const record = (entry: Omit<SocketModeLogEntry, 'at'>): void => void entries.push({ at: new Date().toISOString(), ...entry });
  const ready = () => [...connections].filter((c) => !c.draining && c.socket.readyState === c.socket.OPEN);
  const notify = () => {
    for (const wake of [...waiters]) wake();
  };

  function send(connection: Connection, message: unknown): void {
    connection.socket.send(JSON.stringify(message));
  }

  function onMessage(connection: Connection, data: RawData): void {
    let message: { envelope_id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(data.toString()) as typeof message;
    } catch {
      record({ connection: connection.id, event: 'stray-ack', detail: 'not JSON' });
      return;
    }
    const id = typeof message.envelope_id === 'string' ? message.envelope_id : undefined;
    const waiting = id === undefined ? undefined : pending.get(id);
    if (!waiting) {
      record({ connection: connection.id, event: 'stray-ack', ...(id !== undefined && { envelope_id: id }), detail: message });
      return;
    }
    const payload = typeof message.payload === 'object' && message.payload !== null && Object.keys(message.payload).length > 0 ? (message.payload as Record<string, unknown>) : undefined;
    record({ connection: connection.id, event: 'ack', envelope_id: waiting.envelope.envelope_id, type: waiting.envelope.type, ...(payload && { detail: payload }) });
    // A payload on an envelope that does not accept one is ignored, as Slack ignores it.
    waiting.settle({ outcome: 'acked', ...(payload && waiting.envelope.accepts_response_payload && { payload }), ms: Date.now() - waiting.started, envelope: waiting.envelope });
  }

  function onClose(connection: Connection, code: number): void {
    clearInterval(connection.pinger);
    connections.delete(connection);
    record({ connection: connection.id, event: 'close', detail: { code } });
    for (const p of [...pending.values()].filter((x) => x.connection === connection)) {
      pending.delete(p.envelope.envelope_id);
      if (p.envelope.type !== 'events_api') {
        p.settle({ outcome: 'closed', ms: Date.now() - p.started, envelope: p.envelope });
        continue;
      }
      const retry: SocketEnvelope = { ...p.envelope, retry_attempt: (p.envelope.retry_attempt ?? 0) + 1, retry_reason: 'timeout' };
      record({ connection: 0, event: 'retry', envelope_id: retry.envelope_id, type: retry.type, detail: { attempt: retry.retry_attempt } });
      void sendWhenConnected(retry, p.deadline, p.started).then(p.settle);
    }
    notify();
  }

  /** Sends on the next open connection in turn, waiting for one until `deadline` (events only wait). */
  async function sendWhenConnected(envelope: SocketEnvelope, deadline: number, started: number): Promise<SocketDelivery> {
    if (ready().length === 0 && envelope.type === 'events_api') {
      await waitUntil(() => ready().length > 0, deadline - Date.now()).catch(() => undefined);
    }
    const open = ready();
    if (open.length === 0) {
      record({ connection: 0, event: 'no-connection', envelope_id: envelope.envelope_id, type: envelope.type });
      return { outcome: 'no-connection', ms: Date.now() - started, envelope };
    }
    const connection = open[turn++ % open.length]!;
    return new Promise<SocketDelivery>((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(envelope.envelope_id);
        record({ connection: connection.id, event: 'timeout', envelope_id: envelope.envelope_id, type: envelope.type });
        resolve({ outcome: 'timeout', ms: Date.now() - started, envelope });
      }, Math.max(0, deadline - Date.now()));
      pending.set(envelope.envelope_id, {
        envelope,
        connection,
        started,
        deadline,
        settle: (delivery) => {
          clearTimeout(timer);
          pending.delete(envelope.envelope_id);
          resolve(delivery);
        },
      });
      record({ connection: connection.id, event: 'envelope', envelope_id: envelope.envelope_id, type: envelope.type, detail: envelope.payload });
      send(connection, envelope);
    });
  }

  function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new PachbackupError('timeout', `no Socket Mode connection within ${timeoutMs} ms`));
      }, Math.max(0, timeoutMs));
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(wake);
      };
      waiters.add(wake);
    });
  }

  return {
    openConnection(token) {
      const expected = options.appToken();
      if (!token.startsWith('xapp-')) return { ok: false, error: 'not_allowed_token_type' };
      if (expected === undefined || token !== expected) return { ok: false, error: 'invalid_auth' };
      const ticket = randomBytes(16).toString('hex');
      tickets.set(ticket, Date.now() + ticketTtlMs);
      const base = options.baseUrl().replace(/^http/, 'ws');
      return { ok: true, url: `${base}${LINK_PATH}?ticket=${ticket}&app_id=${encodeURIComponent(options.appId)}` };
    },

    handleUpgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://simulator');
      if (url.pathname !== LINK_PATH) return false;
      const ticket = url.searchParams.get('ticket') ?? '';
      const expires = tickets.get(ticket);
      tickets.delete(ticket); // a URL is good for one connection
      if (expires === undefined || expires < Date.now()) {
        record({ connection: 0, event: 'refused', detail: expires === undefined ? 'unknown or used ticket' : 'expired ticket' });
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const connection: Connection = { id: nextConnectionId++, socket: ws, draining: false, pinger: setInterval(() => ws.ping(), pingIntervalMs) };
        connection.pinger.unref();
        connections.add(connection);
        record({ connection: connection.id, event: 'open' });
        ws.on('message', (data) => onMessage(connection, data));
        ws.on('close', (code) => onClose(connection, code));
        ws.on('error', () => ws.terminate());
        send(connection, {
          type: 'hello',
          num_connections: ready().length,
          debug_info: { host: 'slack-sim', build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: options.appId },
        });
        record({ connection: connection.id, event: 'hello' });
        notify();
      });
      return true;
    },

    deliver(type, payload, o) {
      const envelope: SocketEnvelope = {
        envelope_id: o.envelopeId ?? randomUUID(),
        type,
        payload,
        // Slack accepts a response payload for slash commands, view submissions and the options of a select that
        // loads them (block_suggestion), not for clicks or events.
        accepts_response_payload: type === 'slash_commands' || (type === 'interactive' && (payload.type === 'view_submission' || payload.type === 'block_suggestion')),
        ...(type === 'events_api' && { retry_attempt: 0, retry_reason: '' }),
      };
      const started = Date.now();
      return sendWhenConnected(envelope, started + o.timeoutMs, started);
    },

    redeliver(envelope, o) {
      const started = Date.now();
      return sendWhenConnected(envelope, started + o.timeoutMs, started);
    },

    disconnect(reason) {
      const targets = ready();
      for (const connection of targets) {
        send(connection, { type: 'disconnect', reason, debug_info: { host: 'slack-sim' } });
        record({ connection: connection.id, event: 'disconnect', detail: reason });
        if (reason === 'warning') continue;
        connection.draining = true;
        setTimeout(() => connection.socket.terminate(), closeGraceMs).unref();
      }
      return targets.length;
    },

    cut() {
      const all = [...connections];
      for (const connection of all) {
        record({ connection: connection.id, event: 'cut' });
        connection.socket.terminate();
      }
      return all.length;
    },

    openConnections: () => ready().length,

    waitForConnections(count, timeoutMs = 30_000) {
      return waitUntil(() => ready().length >= count, timeoutMs);
    },

    log: () => entries.map((e) => ({ ...e })),

    close() {
      // A close frame first, as a server going away sends one (the app then does not log a broken connection);
      // whatever is still open a moment later is cut.
      for (const connection of connections) {
        clearInterval(connection.pinger);
        connection.draining = true;
        connection.socket.close(1001, 'the Slack simulator is closing');
        setTimeout(() => connection.socket.terminate(), 500).unref();
      }
      for (const wake of [...waiters]) waiters.delete(wake);
      wss.close();
    },
  };
}
