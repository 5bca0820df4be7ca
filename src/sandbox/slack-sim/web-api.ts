import { apiChannel, apiFile, apiMessage, apiUser, apiView } from './api-shapes.js';
import { SlackApiError, checkView, decodeJsonField, isObject, readMessageContent } from './message-content.js';
import { compareTs, type SlackChannel, type SlackWorkspace } from './workspace.js';

/**
 * The Slack Web API methods pachbackup uses, at `POST /api/<method>`, answering in Slack's shapes and with
 * Slack's errors: HTTP 200 with `{ ok: false, error }` for every refusal (bad token, unknown channel, bad blocks,
 * ...), HTTP 429 with `Retry-After` when a rate limit is exceeded. Every call is logged in the workspace, token
 * left out. Decisions where Slack's behaviour is stricter or looser than documented are noted at the method.
 */

/** A rate limit: at most `limit` calls per `windowMs` (default one minute), counted per channel or workspace-wide. */
export interface RateLimitRule {
  limit: number;
  windowMs?: number;
  per: 'channel' | 'workspace';
}

/** Rate limits by method name. */
export type RateLimits = Record<string, RateLimitRule | undefined>;

/**
 * Default limits: chat.update at Slack's tier 3 (50 a minute), counted per channel so an app that edits one
 * progress message too often is caught while others still work.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = { 'chat.update': { limit: 50, per: 'channel' } };

/** A failure the next call(s) to `method` answer with instead of running: an error code, an HTTP status, or both. */
export interface InjectedFailure {
  method: string;
  /** Slack error code answered with HTTP 200 (default `internal_error`). */
  error?: string;
  /** An HTTP status other than 200, e.g. 500 or 429. */
  status?: number;
  /** With status 429: the `Retry-After` seconds (default 1). */
  retryAfterSeconds?: number;
  /** How many calls fail (default 1). */
  times?: number;
}

/** One Web API request, already parsed. */
export interface WebApiRequest {
  method: string;
  args: Record<string, unknown>;
  /** From `Authorization: Bearer`; falls back to the `token` argument. */
  bearer?: string;
}

/** The HTTP answer to a Web API request. */
export interface WebApiResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** Settings of the Web API. */
export interface WebApiOptions {
  /** The simulator's base URL (for upload URLs), read at call time. */
  baseUrl: () => string;
  rateLimits?: RateLimits;
  /** How long a trigger id can be exchanged for a modal. Slack allows 3 s; the simulator defaults to 30 s. */
  triggerTtlMs?: number;
  /** `apps.connections.open`: Socket Mode's side, given the app-level token the call came with. */
  openSocketConnection?: (appToken: string) => { ok: true; url: string } | { ok: false; error: string };
}

/** The Web API: answer a request; change rate limits; make calls fail on purpose. */
export interface WebApi {
  call(request: WebApiRequest): WebApiResponse;
  /** Sets (or with `undefined`, removes) the rate limit of a method. */
  setRateLimit(method: string, rule: RateLimitRule | undefined): void;
  /** Makes the next call(s) to a method fail as described. */
  failNext(failure: InjectedFailure): void;
}

/** The methods the simulator implements. */
export const WEB_API_METHODS = [
  'api.test',
  'apps.connections.open',
  'auth.test',
  'chat.postMessage',
  'chat.update',
  'chat.postEphemeral',
  'chat.delete',
  'chat.getPermalink',
  'conversations.info',
  'conversations.history',
  'conversations.replies',
  'conversations.members',
  'conversations.list',
  'conversations.join',
  'conversations.open',
  'views.open',
  'views.update',
  'views.push',
  'views.publish',
  'users.info',
  'users.list',
  'usergroups.list',
  'usergroups.users.list',
  'files.getUploadURLExternal',
  'files.completeUploadExternal',
  'files.info',
  'files.upload',
] as const;

type Handler = (ctx: CallContext) => Record<string, unknown>;

interface CallContext {
  ws: SlackWorkspace;
  args: Record<string, unknown>;
  options: Required<Pick<WebApiOptions, 'triggerTtlMs'>> & WebApiOptions;
}

/** Arguments whose JSON-encoded form values are decoded for the call log. */
const JSON_ARGS = ['blocks', 'attachments', 'view', 'files', 'metadata'];

/** Builds the Web API over a workspace. */
export function createWebApi(ws: SlackWorkspace, options: WebApiOptions): WebApi {
  const rateLimits: RateLimits = { ...(options.rateLimits ?? DEFAULT_RATE_LIMITS) };
  const windows = new Map<string, number[]>();
  const failures: InjectedFailure[] = [];
  const ctxOptions = { triggerTtlMs: 30_000, ...options };

  function answer(method: string, args: Record<string, unknown>, res: WebApiResponse): WebApiResponse {
    const error = typeof res.body.error === 'string' ? res.body.error : undefined;
    const record = { method, args: loggedArgs(args), status: res.status, ok: res.body.ok === true };
    ws.recordCall(error === undefined ? record : { ...record, error });
    return res;
  }

  function rateLimited(method: string, args: Record<string, unknown>): number | undefined {
    const rule = rateLimits[method];
    if (!rule) return undefined;
    const windowMs = rule.windowMs ?? 60_000;
    let key = method;
    if (rule.per === 'channel') {
      const raw = typeof args.channel === 'string' ? args.channel : typeof args.channel_id === 'string' ? args.channel_id : '';
      key = `${method}:${ws.channel(raw)?.id ?? raw}`;
    }
    const now = ws.nowMs();
    const recent = (windows.get(key) ?? []).filter((t) => t > now - windowMs);
    if (recent.length >= rule.limit) {
      windows.set(key, recent);
      const oldest = recent[0] ?? now;
      return Math.max(1, Math.ceil((oldest + windowMs - now) / 1000));
    }
    recent.push(now);
    windows.set(key, recent);
    return undefined;
  }

  return {
    setRateLimit(method, rule) {
      rateLimits[method] = rule;
      for (const key of windows.keys()) if (key === method || key.startsWith(`${method}:`)) windows.delete(key);
    },
    failNext(failure) {
      failures.push({ ...failure, times: failure.times ?? 1 });
    },
    call({ method, args, bearer }) {
      const ok = (body: Record<string, unknown>): WebApiResponse => ({ status: 200, headers: {}, body: { ok: true, ...body } });
      const refuse = (error: string, extra: Record<string, unknown> = {}): WebApiResponse => ({
        status: 200,
        headers: {},
        body: { ok: false, error, ...extra },
      });

      const token = bearer ?? (typeof args.token === 'string' && args.token !== '' ? args.token : undefined);
      if (token === undefined) return answer(method, args, refuse('not_authed'));
      // Socket Mode's one method takes the app-level token, and the app-level token nothing else.
      if (method === 'apps.connections.open') {
        const opened = options.openSocketConnection?.(token) ?? { ok: false as const, error: token.startsWith('xapp-') ? 'invalid_auth' : 'not_allowed_token_type' };
        return answer(method, args, opened.ok ? ok({ url: opened.url }) : refuse(opened.error));
      }
      if (token.startsWith('xapp-')) return answer(method, args, refuse('not_allowed_token_type'));
      if (token !== ws.bot.token) return answer(method, args, refuse('invalid_auth'));
      const handler = HANDLERS[method];
      if (!handler) return answer(method, args, refuse('unknown_method', { req_method: method }));

      const failure = failures.find((f) => f.method === method);
      if (failure) {
        failure.times = (failure.times ?? 1) - 1;
        if (failure.times <= 0) failures.splice(failures.indexOf(failure), 1);
        const status = failure.status ?? 200;
        const headers: Record<string, string> = status === 429 ? { 'Retry-After': String(failure.retryAfterSeconds ?? 1) } : {};
        const error = failure.error ?? (status === 429 ? 'ratelimited' : 'internal_error');
        return answer(method, args, { status, headers, body: { ok: false, error } });
      }

      const retryAfter = rateLimited(method, args);
      if (retryAfter !== undefined) {
        return answer(method, args, { status: 429, headers: { 'Retry-After': String(retryAfter) }, body: { ok: false, error: 'ratelimited' } });
      }

      try {
        return answer(method, args, ok(handler({ ws, args, options: ctxOptions })));
      } catch (err) {
        if (err instanceof SlackApiError) {
          const extra = err.messages.length ? { errors: err.messages, response_metadata: { messages: err.messages } } : {};
          return answer(method, args, refuse(err.error, extra));
        }
        throw err;
      }
    },
  };
}

/**
 * Reads a Web API request body the ways Slack accepts it: form-encoded (what @slack/web-api sends, nested
 * fields JSON-encoded), JSON, or multipart; query parameters count too.
 */
export async function readWebApiArgs(contentType: string | undefined, raw: Buffer, query: URLSearchParams): Promise<Record<string, unknown>> {
  const args: Record<string, unknown> = Object.fromEntries(query.entries());
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (raw.length === 0) return args;
  if (type === 'application/json') {
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    if (!isObject(parsed)) throw new SlackApiError('invalid_json');
    return { ...args, ...parsed };
  }
  if (type === 'multipart/form-data') {
    const form = await new Response(raw, { headers: { 'content-type': contentType ?? '' } }).formData();
    for (const [key, value] of form.entries()) {
      args[key] = typeof value === 'string' ? value : Buffer.from(await value.arrayBuffer());
    }
    return args;
  }
  for (const [key, value] of new URLSearchParams(raw.toString('utf8')).entries()) args[key] = value;
  return args;
}

/** The token of an `Authorization: Bearer` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

function loggedArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (key === 'token') continue;
    if (Buffer.isBuffer(value)) out[key] = `<${value.length} bytes>`;
    else if (JSON_ARGS.includes(key) && typeof value === 'string') {
      try {
        out[key] = JSON.parse(value) as unknown;
      } catch {
        out[key] = value;
      }
    } else out[key] = value;
  }
  return out;
}

// ---- argument helpers ------------------------------------------------------------------------------------

function optionalString(args: Record<string, unknown>, name: string): string | undefined {
  const v = args[name];
  if (v === undefined || v === null) return undefined;
  return String(v);
}

function requiredString(args: Record<string, unknown>, name: string, error = 'invalid_arguments'): string {
  const v = optionalString(args, name);
  if (v === undefined || v === '') throw new SlackApiError(error, [`[ERROR] missing required field: ${name}`]);
  return v;
}

function flag(args: Record<string, unknown>, name: string): boolean {
  const v = args[name];
  return v === true || v === 'true' || v === '1' || v === 1;
}

/** A channel the bot can see; DMs by user id; `not_in_channel` where the bot must be a member. */
function channelArg(ctx: CallContext, name: string, options: { member: boolean }): SlackChannel {
  return resolveChannel(ctx, requiredString(ctx.args, name, 'channel_not_found'), options);
}

function resolveChannel(ctx: CallContext, raw: string, options: { member: boolean }): SlackChannel {
  let channel = ctx.ws.channel(raw);
  if (!channel && /^[UW][A-Z0-9]+$/.test(raw) && ctx.ws.user(raw)) channel = ctx.ws.imChannel(raw);
  if (!channel) throw new SlackApiError('channel_not_found');
  const member = channel.members.includes(ctx.ws.bot.user_id);
  // Private channels the bot is not in are invisible to it, as in Slack.
  if (channel.is_private && !member) throw new SlackApiError('channel_not_found');
  if (options.member && !member) throw new SlackApiError('not_in_channel');
  return channel;
}

function messageArg(ctx: CallContext, channel: SlackChannel, name: string) {
  const ts = requiredString(ctx.args, name, 'message_not_found');
  const m = ctx.ws.message(channel.id, ts);
  if (!m || m.deleted) throw new SlackApiError('message_not_found');
  return m;
}

function threadTsArg(args: Record<string, unknown>): string | undefined {
  const v = optionalString(args, 'thread_ts');
  if (v === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new SlackApiError('invalid_thread_ts', [`[ERROR] ${v} is not a valid thread_ts`]);
  return v;
}

function exchangeTrigger(ctx: CallContext) {
  const id = requiredString(ctx.args, 'trigger_id', 'invalid_trigger_id');
  const trigger = ctx.ws.trigger(id);
  if (!trigger) throw new SlackApiError('invalid_trigger_id');
  if (trigger.exchanged) throw new SlackApiError('exchanged_trigger_id');
  if (ctx.ws.nowMs() - trigger.issued_at_ms > ctx.options.triggerTtlMs) throw new SlackApiError('expired_trigger_id');
  trigger.exchanged = true;
  return trigger;
}

function page<T>(items: T[], args: Record<string, unknown>, defaultLimit: number): { items: T[]; next_cursor: string } {
  const limit = Math.max(1, Math.min(1000, Number(args.limit ?? defaultLimit) || defaultLimit));
  const cursor = optionalString(args, 'cursor');
  const start = cursor ? Number(Buffer.from(cursor, 'base64url').toString('utf8').replace(/^offset:/, '')) || 0 : 0;
  const slice = items.slice(start, start + limit);
  const next = start + limit < items.length ? Buffer.from(`offset:${start + limit}`).toString('base64url') : '';
  return { items: slice, next_cursor: next };
}

function permalink(ctx: CallContext, channel: string, ts: string, threadTs: string | undefined): string {
  const base = `https://${ctx.ws.team.domain}.slack.com/archives/${channel}/p${ts.replace('.', '')}`;
  return threadTs !== undefined && threadTs !== ts ? `${base}?thread_ts=${threadTs}&cid=${channel}` : base;
}

// ---- the methods -----------------------------------------------------------------------------------------

const HANDLERS: Record<string, Handler> = {
  'api.test': ({ args }) => {
    const { token: _token, ...rest } = args;
    return { args: rest };
  },

  'auth.test': ({ ws }) => ({
    url: `https://${ws.team.domain}.slack.com/`,
    team: ws.team.name,
    user: ws.bot.name,
    team_id: ws.team.id,
    user_id: ws.bot.user_id,
    bot_id: ws.bot.bot_id,
    is_enterprise_install: false,
  }),

  // A well-formed thread_ts that matches no message is accepted and the reply is not shown in the channel,
  // as Slack does; a malformed one is `invalid_thread_ts`.
  'chat.postMessage': (ctx) => {
    const channel = channelArg(ctx, 'channel', { member: true });
    if (channel.is_archived) throw new SlackApiError('is_archived');
    const content = readMessageContent(ctx.args, { required: true });
    const threadTs = threadTsArg(ctx.args);
    const metadata = ctx.args.metadata === undefined ? undefined : decodeJsonField(ctx.args.metadata, 'invalid_metadata_format');
    const m = ctx.ws.postMessage({
      channel: channel.id,
      user: ctx.ws.bot.user_id,
      bot_id: ctx.ws.bot.bot_id,
      text: content.text ?? '',
      ...(content.blocks !== undefined && { blocks: content.blocks }),
      ...(content.attachments !== undefined && { attachments: content.attachments }),
      ...(threadTs !== undefined && { thread_ts: threadTs }),
      ...(metadata !== undefined && { metadata }),
      reply_broadcast: flag(ctx.args, 'reply_broadcast'),
    });
    return { channel: channel.id, ts: m.ts, message: apiMessage(ctx.ws, m) };
  },

  // Fields not given are kept, as Slack documents for blocks and attachments.
  'chat.update': (ctx) => {
    const channel = channelArg(ctx, 'channel', { member: false });
    const m = messageArg(ctx, channel, 'ts');
    if (m.bot_id !== ctx.ws.bot.bot_id) throw new SlackApiError('cant_update_message');
    const content = readMessageContent(ctx.args, { required: false });
    const metadata = ctx.args.metadata === undefined ? undefined : decodeJsonField(ctx.args.metadata, 'invalid_metadata_format');
    const after = { text: content.text ?? m.text, blocks: content.blocks ?? m.blocks ?? [], attachments: content.attachments ?? m.attachments ?? [] };
    if (after.text.trim() === '' && after.blocks.length === 0 && after.attachments.length === 0) throw new SlackApiError('no_text');
    const updated = ctx.ws.updateMessage(channel.id, m.ts, { ...content, ...(metadata !== undefined && { metadata }) }, ctx.ws.bot.user_id);
    return { channel: channel.id, ts: updated.ts, text: updated.text, message: apiMessage(ctx.ws, updated) };
  },

  'chat.postEphemeral': (ctx) => {
    const channel = channelArg(ctx, 'channel', { member: true });
    const userId = requiredString(ctx.args, 'user', 'user_not_found');
    if (!ctx.ws.user(userId)) throw new SlackApiError('user_not_found');
    if (!channel.members.includes(userId)) throw new SlackApiError('user_not_in_channel');
    const content = readMessageContent(ctx.args, { required: true });
    const threadTs = threadTsArg(ctx.args);
    const e = ctx.ws.postEphemeral({
      channel: channel.id,
      user: userId,
      text: content.text ?? '',
      ...(content.blocks !== undefined && { blocks: content.blocks }),
      ...(content.attachments !== undefined && { attachments: content.attachments }),
      ...(threadTs !== undefined && { thread_ts: threadTs }),
      source: 'chat.postEphemeral',
      bot_id: ctx.ws.bot.bot_id,
    });
    return { message_ts: e.ts };
  },

  'chat.delete': (ctx) => {
    const channel = channelArg(ctx, 'channel', { member: false });
    const m = messageArg(ctx, channel, 'ts');
    if (m.bot_id !== ctx.ws.bot.bot_id) throw new SlackApiError('cant_delete_message');
    ctx.ws.deleteMessage(channel.id, m.ts);
    return { channel: channel.id, ts: m.ts };
  },

  'chat.getPermalink': (ctx) => {
    const channel = channelArg(ctx, 'channel', { member: false });
    const m = messageArg(ctx, channel, 'message_ts');
    return { channel: channel.id, permalink: permalink(ctx, channel.id, m.ts, m.thread_ts) };
  },

  'conversations.info': (ctx) => ({ channel: apiChannel(ctx.ws, channelArg(ctx, 'channel', { member: false })) }),

  'conversations.history': (ctx) => {
    const channel = channelArg(ctx, 'channel', { member: true });
    const inclusive = flag(ctx.args, 'inclusive');
    const oldest = optionalString(ctx.args, 'oldest');
    const latest = optionalString(ctx.args, 'latest');
    const after = (ts: string, bound: string): boolean => (inclusive ? compareTs(ts, bound) >= 0 : compareTs(ts, bound) > 0);
    const before = (ts: string, bound: string): boolean => (inclusive ? compareTs(ts, bound) <= 0 : compareTs(ts, bound) < 0);
    const inRange = (ts: string): boolean => (oldest === undefined || after(ts, oldest)) && (latest === undefined || before(ts, latest));
    const top = ctx.ws
      .channelMessages(channel.id)
      .filter((m) => !m.deleted && (m.thread_ts === undefined || m.thread_ts === m.ts || m.reply_broadcast) && inRange(m.ts))
      .reverse();
    const { items, next_cursor } = page(top, ctx.args, 100);
    const metadata = flag(ctx.args, 'include_all_metadata');
    return { messages: items.map((m) => apiMessage(ctx.ws, m, { metadata })), has_more: next_cursor !== '', pin_count: 0, response_metadata: { next_cursor } };
  },

  'conversations.replies': (ctx) => {
    const channel = channelArg(ctx, 'channel', { member: true });
    const ts = requiredString(ctx.args, 'ts', 'thread_not_found');
    const m = ctx.ws.message(channel.id, ts);
    if (!m) throw new SlackApiError('thread_not_found');
    const root = m.thread_ts ?? m.ts;
    const thread = ctx.ws.channelMessages(channel.id).filter((r) => (r.ts === root || r.thread_ts === root) && !(r.deleted && r.ts !== root));
    const { items, next_cursor } = page(thread, ctx.args, 1000);
    const metadata = flag(ctx.args, 'include_all_metadata');
    return { messages: items.map((r) => apiMessage(ctx.ws, r, { metadata })), has_more: next_cursor !== '', response_metadata: { next_cursor } };
  },

  'conversations.members': (ctx) => {
    const channel = channelArg(ctx, 'channel', { member: false });
    const { items, next_cursor } = page(channel.members, ctx.args, 100);
    return { members: items, response_metadata: { next_cursor } };
  },

  'conversations.list': (ctx) => {
    const types = (optionalString(ctx.args, 'types') ?? 'public_channel').split(',').map((t) => t.trim());
    const visible = ctx.ws.allChannels().filter((c) => {
      if (c.is_im) return types.includes('im');
      if (c.is_private) return types.includes('private_channel') && c.members.includes(ctx.ws.bot.user_id);
      return types.includes('public_channel');
    });
    const { items, next_cursor } = page(visible, ctx.args, 100);
    return { channels: items.map((c) => apiChannel(ctx.ws, c)), response_metadata: { next_cursor } };
  },

  'conversations.join': (ctx) => {
    const channel = channelArg(ctx, 'channel', { member: false });
    if (channel.is_private || channel.is_im) throw new SlackApiError('method_not_supported_for_channel_type');
    if (channel.is_archived) throw new SlackApiError('is_archived');
    ctx.ws.setBotMembership(channel.id, true);
    return { channel: apiChannel(ctx.ws, channel) };
  },

  'conversations.open': (ctx) => {
    const users = requiredString(ctx.args, 'users', 'users_list_not_supplied').split(',');
    if (users.length !== 1) throw new SlackApiError('not_enough_users', ['[ERROR] the simulator opens one-to-one DMs only']);
    const userId = users[0] ?? '';
    if (!ctx.ws.user(userId)) throw new SlackApiError('user_not_found');
    return { channel: { id: ctx.ws.imChannel(userId).id } };
  },

  // Slack gives a trigger 3 s and lets it open one view; unknown, used and expired triggers are refused with
  // Slack's three error codes.
  'views.open': (ctx) => {
    const view = checkView(ctx.args.view, 'modal');
    const trigger = exchangeTrigger(ctx);
    const record = ctx.ws.openModal(trigger.user, view, { mode: 'open', trigger_id: trigger.id });
    return { view: apiView(record) };
  },

  'views.push': (ctx) => {
    const view = checkView(ctx.args.view, 'modal');
    const trigger = exchangeTrigger(ctx);
    const stack = ctx.ws.modalStack(trigger.user);
    // Slack keeps at most three modals on a stack.
    if (stack.length >= 3) throw new SlackApiError('push_limit_reached');
    const record = ctx.ws.openModal(trigger.user, view, { mode: stack.length ? 'push' : 'open', trigger_id: trigger.id });
    return { view: apiView(record) };
  },

  'views.update': (ctx) => {
    const viewId = optionalString(ctx.args, 'view_id');
    const externalId = optionalString(ctx.args, 'external_id');
    if (viewId === undefined && externalId === undefined) throw new SlackApiError('invalid_arguments', ['[ERROR] view_id or external_id is required']);
    const existing = viewId !== undefined ? ctx.ws.view(viewId) : ctx.ws.viewByExternalId(externalId ?? '');
    if (!existing || !existing.open) throw new SlackApiError('not_found');
    const hash = optionalString(ctx.args, 'hash');
    if (hash !== undefined && hash !== existing.hash) throw new SlackApiError('hash_conflict');
    const view = checkView(ctx.args.view, existing.type);
    return { view: apiView(ctx.ws.updateView(existing.id, view)) };
  },

  'views.publish': (ctx) => {
    const userId = requiredString(ctx.args, 'user_id', 'user_not_found');
    if (!ctx.ws.user(userId)) throw new SlackApiError('user_not_found');
    const hash = optionalString(ctx.args, 'hash');
    const existing = ctx.ws.homeTab(userId);
    if (hash !== undefined && existing && hash !== existing.hash) throw new SlackApiError('hash_conflict');
    const view = checkView(ctx.args.view, 'home');
    return { view: apiView(ctx.ws.publishHome(userId, view)) };
  },

  'users.info': (ctx) => {
    const u = ctx.ws.user(requiredString(ctx.args, 'user', 'user_not_found'));
    if (!u) throw new SlackApiError('user_not_found');
    return { user: apiUser(u) };
  },

  'users.list': (ctx) => {
    const { items, next_cursor } = page(ctx.ws.allUsers(), ctx.args, 200);
    return { members: items.map(apiUser), response_metadata: { next_cursor } };
  },

  'usergroups.list': (ctx) => {
    const withUsers = flag(ctx.args, 'include_users');
    return {
      usergroups: ctx.ws.allUsergroups().map((g) => ({
        id: g.id,
        team_id: ctx.ws.team.id,
        is_usergroup: true,
        handle: g.handle,
        name: g.name,
        description: '',
        user_count: g.users.length,
        ...(withUsers && { users: [...g.users] }),
      })),
    };
  },

  'usergroups.users.list': (ctx) => {
    const group = ctx.ws.usergroup(requiredString(ctx.args, 'usergroup', 'no_such_subteam'));
    if (!group) throw new SlackApiError('no_such_subteam');
    return { users: [...group.users] };
  },

  'files.getUploadURLExternal': (ctx) => {
    const filename = requiredString(ctx.args, 'filename');
    const length = Number(requiredString(ctx.args, 'length'));
    if (!Number.isInteger(length) || length < 0) throw new SlackApiError('invalid_arguments', ['[ERROR] length must be a non-negative integer']);
    const altText = optionalString(ctx.args, 'alt_text');
    const file = ctx.ws.createFile({
      name: filename,
      length,
      user: ctx.ws.bot.user_id,
      ...(altText !== undefined && { alt_text: altText }),
    });
    return { upload_url: `${ctx.options.baseUrl()}/upload/${file.id}`, file_id: file.id };
  },

  // The files are shared with one message (text = initial_comment) posted by the bot, in the thread if given.
  'files.completeUploadExternal': (ctx) => {
    const files = decodeJsonField(requiredString(ctx.args, 'files'), 'invalid_arguments');
    if (!Array.isArray(files) || files.length === 0 || files.some((f) => !isObject(f) || typeof f.id !== 'string')) {
      throw new SlackApiError('invalid_arguments', ['[ERROR] files must be a non-empty array of { id, title }']);
    }
    const entries = files as { id: string; title?: unknown }[];
    for (const f of entries) {
      const record = ctx.ws.file(f.id);
      if (!record || record.bytes === undefined) throw new SlackApiError('file_not_found', [`[ERROR] ${f.id} was not uploaded`]);
    }
    const target = optionalString(ctx.args, 'channel_id') ?? optionalString(ctx.args, 'channels');
    let channel: SlackChannel | undefined;
    if (target !== undefined && target !== '') channel = resolveChannel(ctx, target, { member: true });
    const ids = entries.map((f) => ctx.ws.completeFile(f.id, typeof f.title === 'string' ? f.title : undefined).id);
    if (channel) {
      const content = readMessageContent({ blocks: ctx.args.blocks }, { required: false });
      const threadTs = threadTsArg(ctx.args);
      const m = ctx.ws.postMessage({
        channel: channel.id,
        user: ctx.ws.bot.user_id,
        bot_id: ctx.ws.bot.bot_id,
        text: optionalString(ctx.args, 'initial_comment') ?? '',
        ...(content.blocks !== undefined && { blocks: content.blocks }),
        ...(threadTs !== undefined && { thread_ts: threadTs }),
        files: ids,
      });
      for (const id of ids) ctx.ws.addFileShare(id, { channel: channel.id, ts: m.ts, ...(m.thread_ts !== undefined && { thread_ts: m.thread_ts }) });
    }
    return { files: ids.flatMap((id) => {
      const f = ctx.ws.file(id);
      return f ? [apiFile(ctx.ws, f)] : [];
    }) };
  },

  'files.info': (ctx) => {
    const f = ctx.ws.file(requiredString(ctx.args, 'file', 'file_not_found'));
    if (!f || !f.completed) throw new SlackApiError('file_not_found');
    return { file: apiFile(ctx.ws, f) };
  },

  // Slack retired files.upload in November 2025: apps must use the external upload flow (filesUploadV2).
  'files.upload': () => {
    throw new SlackApiError('method_deprecated', ['[ERROR] files.upload is retired; use files.getUploadURLExternal + files.completeUploadExternal']);
  },
};
