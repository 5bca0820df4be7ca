import { createHmac } from 'node:crypto';
import { PachbackupError } from '../../errors.js';
import { apiMessage, apiView } from './api-shapes.js';
import { checkView, isObject } from './message-content.js';
import { showCommandAck } from './response-url.js';
import type { EnvelopeType, SocketDelivery, SocketEnvelope, SocketModeServer } from './socket-mode.js';
import type { Block, SlackChannel, SlackUser, SlackViewRecord, SlackWorkspace } from './workspace.js';

/**
 * The driver plays the people in the workspace: it sends the app what Slack would when someone types a slash
 * command, clicks a button, submits or closes a modal, or opens the app's home tab — with Slack's payload
 * shapes — and applies what the app answers directly (a command's `ack({ text })`, a submission's
 * `response_action`) as Slack would. It delivers the way the app is set up to receive: over HTTP, form-encoded
 * and signed, or — when the app uses Socket Mode — as envelopes over its WebSocket, where the ack's payload
 * stands for the HTTP answer's body. Over HTTP it can also forge requests (wrong secret, stale timestamp, no
 * signature); either way it can send a request again unchanged.
 */

/** Ways to make a request Slack would never send. */
export interface Forgery {
  /** Sign with this secret instead of the app's. */
  signingSecret?: string;
  /** Use this `X-Slack-Request-Timestamp` (Unix seconds), e.g. six minutes ago. */
  timestampSeconds?: number;
  /** Send this exact `X-Slack-Signature`. */
  signature?: string;
  /** Send no signature headers at all. */
  unsigned?: boolean;
}

/** Options every driver request takes. */
export interface SendOptions {
  forge?: Forgery;
  /** Extra headers, e.g. `X-Slack-Retry-Num` to play one of Slack's retries. */
  headers?: Record<string, string>;
}

/** A request exactly as it went over the wire, so it can be sent again unchanged (a replay). */
export interface SignedRequest {
  url: string;
  headers: Record<string, string>;
  rawBody: string;
}

/** An envelope as it went over Socket Mode, so it can be sent again (as Slack retries an event). */
export interface SocketRequest {
  envelope: SocketEnvelope;
}

/** What the driver sent the app: a signed HTTP request, or a Socket Mode envelope. */
export type SentRequest = SignedRequest | SocketRequest;

/** What the app answered. */
export interface DriverResponse {
  status: number;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
  /** True when the app answered within Slack's 3 seconds (informational; never assert on it). */
  acknowledgedInTime: boolean;
  /** Milliseconds from sending the request to the app's answer: the acknowledgement latency (for benchmarks). */
  ackMs: number;
  request: SentRequest;
}

/** The answer to a slash command, with the trigger id and response URL the app was given. */
export interface SlashCommandResult extends DriverResponse {
  triggerId: string;
  responseUrl: string;
}

/** The answer to a modal submission and what became of the modal. */
export interface SubmitViewResult extends DriverResponse {
  /** The app's `response_action`, or `close` when it answered with an empty 200. */
  outcome: 'close' | 'errors' | 'update' | 'push' | 'clear' | 'rejected';
}

/** How the driver reaches the app and the simulator. */
export interface DriverOptions {
  workspace: SlackWorkspace;
  signingSecret: string;
  /** The simulator's own base URL (response URLs point back at it). */
  simulatorUrl: () => string;
  /** Where the app receives requests, e.g. `http://127.0.0.1:3000/slack/events`. */
  appEventsUrl: () => string | undefined;
  /** Socket Mode's side when the app uses Socket Mode (read at each delivery); otherwise deliveries go over HTTP. */
  socketMode?: () => SocketModeServer | undefined;
  /** Slack's acknowledgement deadline (3 s). */
  ackTimeoutMs?: number;
  /** How long to wait for the app before giving up on a request (default 30 s). */
  requestTimeoutMs?: number;
}

/** The person-side client of the simulator. */
export interface SlackDriver {
  /** Types `/command text` in a channel. */
  slashCommand(input: { command?: string; text?: string; userId: string; channelId: string } & SendOptions): Promise<SlashCommandResult>;
  /**
   * Clicks a button, found by `actionId` (and `blockId` when given) in the current blocks of a message
   * (`message`: a channel message, or an ephemeral message the person sees) or of a view (`viewId`).
   */
  clickButton(
    input: {
      userId: string;
      channelId?: string;
      message?: { channel: string; ts: string };
      viewId?: string;
      actionId: string;
      blockId?: string;
      value?: string;
    } & SendOptions,
  ): Promise<DriverResponse>;
  /**
   * Submits a modal. `values` is Slack's `state.values` (`{ [blockId]: { [actionId]: state } }`), where a plain
   * string (or string array) stands for the typed text or chosen option(s) of the element found in the view.
   */
  submitView(input: { userId: string; viewId: string; values?: Record<string, Record<string, unknown>> } & SendOptions): Promise<SubmitViewResult>;
  /**
   * Types `value` into an `external_select` of an open modal: Slack asks the app for the menu's options
   * (`block_suggestion`) and shows what it answers (`json`: `{ options }` or `{ option_groups }`).
   */
  loadOptions(input: { userId: string; viewId: string; actionId: string; value: string } & SendOptions): Promise<DriverResponse>;
  /** Closes a modal with its Cancel button; the app hears `view_closed` only when the view asked for it. */
  closeView(input: { userId: string; viewId: string } & SendOptions): Promise<DriverResponse | undefined>;
  /** Opens the app's home tab: an `app_home_opened` event. */
  openHome(userId: string, options?: SendOptions): Promise<DriverResponse>;
  /** Sends any Events API event in Slack's `event_callback` envelope. */
  sendEvent(event: Record<string, unknown>, options?: SendOptions): Promise<DriverResponse>;
  /** Sends a request again: byte for byte over HTTP (same body, timestamp and signature), the same envelope over Socket Mode. */
  resend(request: SentRequest): Promise<DriverResponse>;
}

/** Builds a driver. */
export function createSlackDriver(options: DriverOptions): SlackDriver {
  const ws = options.workspace;
  const ackTimeoutMs = options.ackTimeoutMs ?? 3000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  function eventsUrl(): string {
    const url = options.appEventsUrl();
    if (url === undefined) {
      throw new PachbackupError('precondition', 'the Slack simulator does not know where the app listens', {
        hint: 'pass appEventsUrl to startSlackSimulator or call setAppEventsUrl(url) once the app is listening',
      });
    }
    return url;
  }

  function sign(rawBody: string, contentType: string, send: SendOptions): SignedRequest {
    const headers: Record<string, string> = {
      'Content-Type': contentType,
      'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...send.headers,
    };
    const forge = send.forge ?? {};
    if (!forge.unsigned) {
      const timestamp = String(forge.timestampSeconds ?? Math.floor(Date.now() / 1000));
      const secret = forge.signingSecret ?? options.signingSecret;
      headers['X-Slack-Request-Timestamp'] = timestamp;
      headers['X-Slack-Signature'] = forge.signature ?? `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
    }
    return { url: eventsUrl(), headers, rawBody };
  }

  async function resend(request: SentRequest): Promise<DriverResponse> {
    if ('envelope' in request) return socketAnswer(await socketServer().redeliver(request.envelope, { timeoutMs: requestTimeoutMs }));
    const started = performance.now();
    const res = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.rawBody,
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    const body = await res.text();
    const ackMs = performance.now() - started;
    const response: DriverResponse = {
      status: res.status,
      body,
      acknowledgedInTime: ackMs <= ackTimeoutMs,
      ackMs,
      request,
    };
    try {
      if (body.trim() !== '') response.json = JSON.parse(body) as unknown;
    } catch {
      // a plain-text answer
    }
    return response;
  }

  function socketServer(): SocketModeServer {
    const server = options.socketMode?.();
    if (!server) throw new PachbackupError('precondition', 'the app does not use Socket Mode here: an envelope cannot be sent again');
    return server;
  }

  /** What the app's ack said, shaped as its HTTP answer would be: 200 and the ack's payload as the body. */
  function socketAnswer(delivery: SocketDelivery): DriverResponse {
    // No ack: as Slack, the person sees a failure (503: no connection to send on; 504: no ack in time).
    const status = delivery.outcome === 'acked' ? 200 : delivery.outcome === 'timeout' ? 504 : 503;
    const payload = delivery.outcome === 'acked' ? delivery.payload : undefined;
    return {
      status,
      body: payload ? JSON.stringify(payload) : '',
      ...(payload && { json: payload }),
      acknowledgedInTime: delivery.outcome === 'acked' && delivery.ms <= ackTimeoutMs,
      ackMs: delivery.ms,
      request: { envelope: delivery.envelope },
    };
  }

  /**
   * Delivers what a person did the way the app receives it: over Socket Mode as an envelope of `type` carrying
   * `payload`, or over HTTP as `http()` builds the body, signed (or forged as `sendOptions` asks).
   */
  async function deliver(type: EnvelopeType, payload: Record<string, unknown>, http: () => { body: string; contentType: string }, sendOptions: SendOptions): Promise<DriverResponse> {
    const socket = options.socketMode?.();
    if (!socket) {
      const { body, contentType } = http();
      return resend(sign(body, contentType, sendOptions));
    }
    if (sendOptions.forge || sendOptions.headers) {
      throw new PachbackupError('usage', 'forged requests and extra headers are HTTP things: Socket Mode has no signatures', { hint: 'run this test against an app over HTTP' });
    }
    return socketAnswer(await socket.deliver(type, payload, { timeoutMs: requestTimeoutMs }));
  }

  const sendInteraction = (payload: Record<string, unknown>, sendOptions: SendOptions): Promise<DriverResponse> =>
    deliver('interactive', payload, () => ({ body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), contentType: 'application/x-www-form-urlencoded' }), sendOptions);

  const user = (id: string): SlackUser => {
    const u = ws.user(id);
    if (!u) throw new PachbackupError('usage', `no user ${id} in the simulated workspace`);
    return u;
  };
  const channel = (id: string): SlackChannel => {
    const c = ws.channel(id);
    if (!c) throw new PachbackupError('usage', `no channel ${id} in the simulated workspace`);
    return c;
  };
  const userPayload = (u: SlackUser) => ({ id: u.id, username: u.name, name: u.name, team_id: ws.team.id });
  const teamPayload = () => ({ id: ws.team.id, domain: ws.team.domain });
  const forged = (o: SendOptions): boolean => o.forge !== undefined;

  async function sendEvent(event: Record<string, unknown>, sendOptions: SendOptions = {}): Promise<DriverResponse> {
    const eventTs = ws.nextTs();
    const envelope = {
      token: ws.verificationToken,
      team_id: ws.team.id,
      context_team_id: ws.team.id,
      api_app_id: ws.bot.app_id,
      event: { ...event, event_ts: eventTs },
      type: 'event_callback',
      event_id: ws.newId('Ev'),
      event_time: Math.floor(Number(eventTs)),
      authorizations: [{ enterprise_id: null, team_id: ws.team.id, user_id: ws.bot.user_id, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    };
    return deliver('events_api', envelope, () => ({ body: JSON.stringify(envelope), contentType: 'application/json' }), sendOptions);
  }

  return {
    resend,

    async slashCommand(input) {
      const u = user(input.userId);
      const c = channel(input.channelId);
      const command = input.command ?? '/pachbackup';
      const text = input.text ?? '';
      const trigger = ws.issueTrigger({ user: u.id, channel: c.id });
      const responseUrl = ws.createResponseUrl({ user: u.id, channel: c.id, origin: { kind: 'command', command } });
      const responseUrlHref = `${options.simulatorUrl()}/response/${responseUrl.id}`;
      // Field order and names as Slack sends them.
      const form = new URLSearchParams({
        token: ws.verificationToken,
        team_id: ws.team.id,
        team_domain: ws.team.domain,
        channel_id: c.id,
        channel_name: c.is_im ? 'directmessage' : c.name,
        user_id: u.id,
        user_name: u.name,
        command,
        text,
        api_app_id: ws.bot.app_id,
        is_enterprise_install: 'false',
        response_url: responseUrlHref,
        trigger_id: trigger.id,
      });
      if (!forged(input)) ws.recordAction({ kind: 'command', user: u.id, channel: c.id, description: `${command} ${text}`.trim() });
      const res = await deliver('slash_commands', Object.fromEntries(form), () => ({ body: form.toString(), contentType: 'application/x-www-form-urlencoded' }), input);
      if (!forged(input)) {
        if (res.status >= 200 && res.status < 300) {
          showCommandAck(ws, { user: u.id, channel: c.id, responseUrlId: responseUrl.id }, res.body);
        } else {
          ws.postEphemeral({
            channel: c.id,
            user: u.id,
            text: `${command} failed with the error "dispatch_failed"`,
            source: 'slackbot',
            author_name: 'Slackbot',
          });
        }
      }
      return { ...res, triggerId: trigger.id, responseUrl: responseUrlHref };
    },

    async clickButton(input) {
      const u = user(input.userId);
      const actionTs = ws.nextTs();
      let blocks: Block[] = [];
      const payload: Record<string, unknown> = {
        type: 'block_actions',
        user: userPayload(u),
        api_app_id: ws.bot.app_id,
        token: ws.verificationToken,
        team: teamPayload(),
        enterprise: null,
        is_enterprise_install: false,
        state: { values: {} },
      };
      let where: { channel?: string; thread_ts?: string; view_id?: string };
      if (input.message) {
        const c = channel(input.channelId ?? input.message.channel);
        const m = ws.message(c.id, input.message.ts);
        const e = m && !m.deleted ? undefined : ws.ephemeralByTs(u.id, input.message.ts);
        if ((!m || m.deleted) && !e) throw new PachbackupError('usage', `no message ${c.id}/${input.message.ts} that ${u.name} can see`);
        const threadTs = m?.thread_ts ?? e?.thread_ts;
        blocks = [...(m?.blocks ?? e?.blocks ?? []), ...attachmentBlocks(m?.attachments ?? e?.attachments)];
        payload.container = {
          type: 'message',
          message_ts: input.message.ts,
          channel_id: c.id,
          is_ephemeral: e !== undefined,
          ...(threadTs !== undefined && { thread_ts: threadTs }),
        };
        payload.channel = { id: c.id, name: c.is_im ? 'directmessage' : c.name };
        // Slack leaves `message` out of payloads from ephemeral messages.
        if (m && !m.deleted) payload.message = apiMessage(ws, m);
        const responseUrl = ws.createResponseUrl({
          user: u.id,
          channel: c.id,
          ...(threadTs !== undefined && { thread_ts: threadTs }),
          origin: e ? { kind: 'ephemeral', ephemeral_id: e.id } : { kind: 'message', ts: input.message.ts },
        });
        payload.response_url = `${options.simulatorUrl()}/response/${responseUrl.id}`;
        where = { channel: c.id, ...(threadTs !== undefined && threadTs !== input.message.ts && { thread_ts: threadTs }) };
      } else if (input.viewId !== undefined) {
        const v = visibleView(ws, u.id, input.viewId);
        blocks = v.blocks;
        payload.container = { type: 'view', view_id: v.id };
        payload.view = apiView(v);
        where = { view_id: v.id };
      } else {
        throw new PachbackupError('usage', 'clickButton needs a message ({ channel, ts }) or a viewId');
      }
      const found = findButton(blocks, input.actionId, input.blockId);
      if (!found && input.value === undefined) {
        throw new PachbackupError('usage', `no button with action_id ${input.actionId}${input.blockId ? ` in block ${input.blockId}` : ''} to click`);
      }
      const button = found?.element ?? {};
      const label = isObject(button.text) && typeof button.text.text === 'string' ? button.text.text : input.actionId;
      const action: Record<string, unknown> = {
        action_id: input.actionId,
        block_id: input.blockId ?? found?.blockId ?? 'simulated',
        text: { type: 'plain_text', text: label, emoji: true },
        type: 'button',
        action_ts: actionTs,
      };
      const value = input.value ?? (typeof button.value === 'string' ? button.value : undefined);
      if (value !== undefined) action.value = value;
      if (typeof button.style === 'string') action.style = button.style;
      payload.actions = [action];
      payload.trigger_id = ws.issueTrigger({
        user: u.id,
        ...(where.channel !== undefined && { channel: where.channel }),
        ...(where.view_id !== undefined && { view_id: where.view_id }),
      }).id;
      if (!forged(input)) {
        ws.recordAction({
          kind: 'click',
          user: u.id,
          ...(where.channel !== undefined && { channel: where.channel }),
          ...(where.thread_ts !== undefined && { thread_ts: where.thread_ts }),
          description: label,
        });
      }
      return sendInteraction(payload, input);
    },

    async submitView(input) {
      const u = user(input.userId);
      const v = visibleView(ws, u.id, input.viewId);
      if (v.type !== 'modal') throw new PachbackupError('usage', `view ${v.id} is a home tab; only modals are submitted`);
      ws.setViewState(v.id, expandValues(v.blocks, input.values ?? {}));
      const payload = {
        type: 'view_submission',
        team: teamPayload(),
        user: userPayload(u),
        api_app_id: ws.bot.app_id,
        token: ws.verificationToken,
        trigger_id: ws.issueTrigger({ user: u.id, view_id: v.id }).id,
        view: apiView(v),
        response_urls: [],
        is_enterprise_install: false,
        enterprise: null,
      };
      if (!forged(input)) ws.recordAction({ kind: 'submit', user: u.id, description: viewTitle(v) });
      const res = await sendInteraction(payload, input);
      if (forged(input) || res.status < 200 || res.status >= 300) return { ...res, outcome: 'rejected' };
      const answer = isObject(res.json) ? res.json : {};
      switch (answer.response_action) {
        case 'errors':
          ws.setViewErrors(v.id, isObject(answer.errors) ? (answer.errors as Record<string, string>) : {});
          return { ...res, outcome: 'errors' };
        case 'update':
          ws.setViewErrors(v.id, undefined);
          ws.updateView(v.id, checkView(answer.view, 'modal'));
          return { ...res, outcome: 'update' };
        case 'push':
          ws.openModal(u.id, checkView(answer.view, 'modal'), { mode: 'push', trigger_id: payload.trigger_id });
          return { ...res, outcome: 'push' };
        case 'clear':
          ws.closeModals(u.id, 'clear');
          return { ...res, outcome: 'clear' };
        default:
          ws.closeModals(u.id, 'pop');
          return { ...res, outcome: 'close' };
      }
    },

    async loadOptions(input) {
      const u = user(input.userId);
      const v = visibleView(ws, u.id, input.viewId);
      const block = v.blocks.find((b) => isObject(b.element) && b.element.action_id === input.actionId);
      if (!block || !isObject(block.element) || block.element.type !== 'external_select') {
        throw new PachbackupError('usage', `view ${v.id} has no external_select with action_id ${input.actionId}`);
      }
      return sendInteraction(
        {
          type: 'block_suggestion',
          user: userPayload(u),
          container: { type: 'view', view_id: v.id },
          api_app_id: ws.bot.app_id,
          token: ws.verificationToken,
          action_id: input.actionId,
          block_id: block.block_id ?? '',
          value: input.value,
          team: teamPayload(),
          view: apiView(v),
          is_enterprise_install: false,
          enterprise: null,
        },
        input,
      );
    },

    async closeView(input) {
      const u = user(input.userId);
      const v = visibleView(ws, u.id, input.viewId);
      if (!forged(input)) ws.recordAction({ kind: 'close', user: u.id, description: viewTitle(v) });
      ws.closeModals(u.id, v.clear_on_close ? 'clear' : 'pop');
      if (!v.notify_on_close) return undefined;
      return sendInteraction(
        {
          type: 'view_closed',
          team: teamPayload(),
          user: userPayload(u),
          api_app_id: ws.bot.app_id,
          token: ws.verificationToken,
          view: apiView(v),
          is_cleared: v.clear_on_close,
          is_enterprise_install: false,
          enterprise: null,
        },
        input,
      );
    },

    async openHome(userId, sendOptions = {}) {
      const u = user(userId);
      const home = ws.homeTab(u.id);
      if (!forged(sendOptions)) ws.recordAction({ kind: 'home', user: u.id, description: 'opened the Home tab' });
      return sendEvent(
        {
          type: 'app_home_opened',
          user: u.id,
          channel: ws.imChannel(u.id).id,
          tab: 'home',
          ...(home && { view: apiView(home) }),
        },
        sendOptions,
      );
    },

    sendEvent,
  };
}

/** A view the person has on screen (an open modal, or their home tab). */
function visibleView(ws: SlackWorkspace, userId: string, viewId: string): SlackViewRecord {
  const v = ws.view(viewId);
  if (!v || v.user !== userId || !v.open) throw new PachbackupError('usage', `view ${viewId} is not open for ${userId}`);
  return v;
}

function viewTitle(v: SlackViewRecord): string {
  return isObject(v.title) && typeof v.title.text === 'string' ? v.title.text : v.callback_id || v.id;
}

function attachmentBlocks(attachments: unknown[] | undefined): Block[] {
  return (attachments ?? []).flatMap((a) => (isObject(a) && Array.isArray(a.blocks) ? (a.blocks as Block[]) : []));
}

/** Finds a button by action id in blocks: in actions blocks and as a section's accessory. */
function findButton(blocks: Block[], actionId: string, blockId: string | undefined): { element: Record<string, unknown>; blockId: string } | undefined {
  for (const block of blocks) {
    if (blockId !== undefined && block.block_id !== blockId) continue;
    const candidates = [...(Array.isArray(block.elements) ? block.elements : []), block.accessory];
    for (const element of candidates) {
      if (isObject(element) && element.type === 'button' && element.action_id === actionId) {
        return { element, blockId: block.block_id ?? '' };
      }
    }
  }
  return undefined;
}

/** Turns shorthand values (`'text'`, `['a', 'b']`) into the state Slack reports for each element type. */
function expandValues(blocks: Block[], values: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [blockId, actions] of Object.entries(values)) {
    const block = blocks.find((b) => b.block_id === blockId);
    out[blockId] = {};
    for (const [actionId, value] of Object.entries(actions)) {
      const element = isObject(block?.element) && block.element.action_id === actionId ? block.element : undefined;
      (out[blockId] as Record<string, unknown>)[actionId] = isObject(value) ? value : elementState(element, value);
    }
  }
  return out;
}

function elementState(element: Record<string, unknown> | undefined, value: unknown): Record<string, unknown> {
  const type = typeof element?.type === 'string' ? element.type : 'plain_text_input';
  const option = (v: string): Record<string, unknown> => {
    const options = Array.isArray(element?.options) ? element.options : [];
    const found = options.find((o: unknown) => isObject(o) && o.value === v);
    return isObject(found) ? found : { text: { type: 'plain_text', text: v, emoji: true }, value: v };
  };
  const list = Array.isArray(value) ? value.map(String) : [String(value)];
  switch (type) {
    case 'static_select':
    case 'radio_buttons':
    case 'external_select':
      return { type, selected_option: option(list[0] ?? '') };
    case 'checkboxes':
    case 'multi_static_select':
      return { type, selected_options: list.map(option) };
    case 'users_select':
      return { type, selected_user: list[0] ?? null };
    case 'multi_users_select':
      return { type, selected_users: list };
    case 'conversations_select':
      return { type, selected_conversation: list[0] ?? null };
    case 'channels_select':
      return { type, selected_channel: list[0] ?? null };
    case 'datepicker':
      return { type, selected_date: list[0] ?? null };
    case 'timepicker':
      return { type, selected_time: list[0] ?? null };
    default:
      return { type, value: list[0] ?? '' };
  }
}
