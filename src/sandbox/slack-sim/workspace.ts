import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';

/**
 * The Slack simulator's in-memory workspace: who is in it, which channels exist, and everything the app and the
 * simulated people did there — messages (with their edit history), ephemeral messages, modals and home tabs,
 * files, and a log of every Web API call. It only keeps state and its invariants (unique, increasing `ts`;
 * replies attached to their thread's parent); the Slack rules that decide whether an API call is allowed live in
 * `web-api.ts`, and what a person sees is `snapshot()`, rendered by `transcript.ts`.
 */

/** A Block Kit block as JSON: at least a `type`. */
export type Block = { type: string; block_id?: string; [key: string]: unknown };

/** The workspace itself. */
export interface TeamSeed {
  id: string;
  /** The subdomain: `<domain>.slack.com`. */
  domain: string;
  name?: string;
}

/** A person (or another bot) in the workspace. */
export interface UserSeed {
  id: string;
  /** The handle shown as `@name`. */
  name: string;
  real_name?: string;
  /** IANA time zone, e.g. `Europe/Berlin`; UTC when absent. */
  tz?: string;
  is_bot?: boolean;
  /** The profile title, e.g. "Platform engineer". */
  title?: string;
}

/** A user group, mentioned as `@handle`. */
export interface UserGroupSeed {
  id: string;
  handle: string;
  name?: string;
  users: string[];
}

/** A channel; the bot is a member unless `botIsMember` is false. */
export interface ChannelSeed {
  id: string;
  name: string;
  members?: string[];
  botIsMember?: boolean;
  is_private?: boolean;
  is_archived?: boolean;
  topic?: string;
  purpose?: string;
}

/** The app's bot user and the token it calls the Web API with. */
export interface BotSeed {
  user_id: string;
  bot_id: string;
  /** `xoxb-...` */
  token: string;
  /** `xapp-...`: the app-level token Socket Mode connects with (`apps.connections.open`); none, no Socket Mode. */
  app_token?: string;
  name?: string;
  app_id?: string;
}

/** Everything a workspace starts with. */
export interface WorkspaceSeed {
  team: TeamSeed;
  users: UserSeed[];
  usergroups?: UserGroupSeed[];
  channels: ChannelSeed[];
  bot: BotSeed;
  /** The (deprecated) verification token Slack puts in every payload's `token` field. */
  verificationToken?: string;
}

/** A user as the workspace holds it. */
export interface SlackUser {
  id: string;
  team_id: string;
  name: string;
  real_name: string;
  tz: string;
  tz_label: string;
  tz_offset: number;
  is_bot: boolean;
  title: string;
}

/** A user group as the workspace holds it. */
export interface SlackUserGroup {
  id: string;
  handle: string;
  name: string;
  users: string[];
}

/** A channel (or a direct-message channel, `is_im`) as the workspace holds it. */
export interface SlackChannel {
  id: string;
  name: string;
  members: string[];
  is_private: boolean;
  is_archived: boolean;
  is_im: boolean;
  /** For a DM: the person on the other side. */
  im_user?: string;
  topic: string;
  purpose: string;
  created: number;
}

/** The app's identity in the workspace. */
export interface SlackBot {
  user_id: string;
  bot_id: string;
  token: string;
  app_token?: string;
  name: string;
  app_id: string;
}

/** One earlier version of an edited message. */
export interface MessageRevision {
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
  /** The `ts` at which this version was replaced. */
  replaced_at: string;
}

/** A message in a channel or thread, with its history. */
export interface SlackMessageRecord {
  channel: string;
  ts: string;
  /** The parent's ts for a reply (and for a parent once it has replies, as Slack does). */
  thread_ts?: string;
  user?: string;
  bot_id?: string;
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
  /** Ids of files shared with this message. */
  files?: string[];
  metadata?: unknown;
  /** A reply that was also sent to the channel. */
  reply_broadcast: boolean;
  edits: MessageRevision[];
  edited?: { user: string; ts: string };
  deleted: boolean;
}

/** Where an ephemeral message came from. */
export type EphemeralSource = 'chat.postEphemeral' | 'response_url' | 'command_response' | 'slackbot';

/** A message only one person sees. */
export interface SlackEphemeralRecord {
  id: string;
  channel: string;
  /** The one person who sees it. */
  user: string;
  ts: string;
  thread_ts?: string;
  bot_id?: string;
  /** Set for Slackbot's own notices (e.g. a command that failed). */
  author_name?: string;
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
  source: EphemeralSource;
  edit_count: number;
  deleted: boolean;
}

/** Something a simulated person did through the driver, kept so the transcript can say who did what. */
export interface UserActionRecord {
  kind: 'command' | 'click' | 'submit' | 'close' | 'home';
  user: string;
  channel?: string;
  thread_ts?: string;
  ts: string;
  /** e.g. `/pachbackup backup prod` or `Approve`. */
  description: string;
}

/** A modal or a home tab. */
export interface SlackViewRecord {
  id: string;
  team_id: string;
  app_id: string;
  bot_id: string;
  type: 'modal' | 'home';
  /** The person who sees it. */
  user: string;
  hash: string;
  callback_id: string;
  private_metadata: string;
  external_id: string;
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  blocks: Block[];
  state: { values: Record<string, Record<string, unknown>> };
  root_view_id: string;
  previous_view_id: string | null;
  notify_on_close: boolean;
  clear_on_close: boolean;
  /** Modals: still on the person's screen. Home tabs: always true. */
  open: boolean;
  /** Field errors from the app's last `response_action: 'errors'`. */
  errors?: Record<string, string>;
  /** The trigger the modal was opened or pushed with. */
  trigger_id?: string;
  revisions: number;
}

/** A trigger id handed to the app with a command or an interaction; views.open exchanges it once. */
export interface TriggerRecord {
  id: string;
  user: string;
  channel?: string;
  /** Set when the interaction happened inside a modal: views.push stacks on it. */
  view_id?: string;
  issued_at_ms: number;
  exchanged: boolean;
}

/** What a response URL answers for. */
export type ResponseUrlOrigin =
  | { kind: 'command'; command: string }
  | { kind: 'message'; ts: string }
  | { kind: 'ephemeral'; ephemeral_id: string }
  | { kind: 'view'; view_id: string };

/** A response URL handed to the app; Slack allows five uses within 30 minutes. */
export interface ResponseUrlRecord {
  id: string;
  user: string;
  channel: string;
  thread_ts?: string;
  origin: ResponseUrlOrigin;
  created_at_ms: number;
  uses: number;
  /** The ephemeral this URL last posted, which `replace_original` replaces for a command. */
  last_ephemeral_id?: string;
}

/** A file uploaded with files.getUploadURLExternal + upload + files.completeUploadExternal. */
export interface SlackFileRecord {
  id: string;
  name: string;
  title: string;
  /** The length the app announced. */
  length: number;
  bytes?: Buffer;
  mimetype: string;
  user: string;
  created: number;
  alt_text?: string;
  completed: boolean;
  shares: { channel: string; ts: string; thread_ts?: string }[];
}

/** One Web API call as the simulator saw it; the token is never kept. */
export interface ApiCallRecord {
  seq: number;
  method: string;
  args: Record<string, unknown>;
  at: string;
  status: number;
  ok: boolean;
  error?: string;
}

/** What changed, for waiters and listeners. */
export type WorkspaceChange =
  | { kind: 'message'; channel: string; ts: string }
  | { kind: 'ephemeral'; id: string }
  | { kind: 'view'; id: string }
  | { kind: 'file'; id: string }
  | { kind: 'call'; seq: number }
  | { kind: 'action'; ts: string }
  | { kind: 'channel'; id: string };

/** A message as `GET /messages` shows it: names resolved, replies nested under their parent. */
export interface MessageView {
  channel: string;
  channel_name: string;
  ts: string;
  thread_ts?: string;
  user?: string;
  /** The author's name: the user's handle or the bot's name. */
  author: string;
  bot_id?: string;
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
  files?: FileView[];
  subtype?: 'thread_broadcast' | 'tombstone';
  edited?: { user: string; ts: string };
  edit_count: number;
  reply_count: number;
  replies: MessageView[];
}

/** An ephemeral message as `GET /messages` shows it. */
export interface EphemeralView {
  id: string;
  channel: string;
  channel_name: string;
  user: string;
  user_name: string;
  ts: string;
  thread_ts?: string;
  author: string;
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
  source: EphemeralSource;
  edit_count: number;
}

/** A file as `GET /messages` shows it (without its bytes). */
export interface FileView {
  id: string;
  name: string;
  title: string;
  size: number;
  mimetype: string;
  user: string;
  /** The bytes as UTF-8, for text files up to 64 KiB. */
  preview?: string;
}

/** A channel with its messages. */
export interface ChannelView {
  id: string;
  name: string;
  is_private: boolean;
  is_im: boolean;
  members: string[];
  /** Top-level messages (and replies also sent to the channel), oldest first, each with its replies. */
  messages: MessageView[];
}

/** The whole visible state of the workspace: what `GET /messages` answers and what a transcript renders. */
export interface SlackSnapshot {
  team: { id: string; domain: string; name: string };
  bot: { user_id: string; bot_id: string; name: string; app_id: string };
  users: SlackUser[];
  usergroups: SlackUserGroup[];
  channels: ChannelView[];
  ephemerals: EphemeralView[];
  actions: UserActionRecord[];
  views: Omit<SlackViewRecord, 'trigger_id'>[];
  files: FileView[];
}

/** How long a response URL stays usable, and how often (Slack: 30 minutes, 5 times). */
export const RESPONSE_URL_TTL_MS = 30 * 60_000;
/** Slack accepts at most five posts to one response URL. */
export const RESPONSE_URL_MAX_USES = 5;

/**
 * The in-memory workspace. Every change emits `change` (see `onChange`) so tests wait on events, not sleeps.
 * Not thread-safe by design: Node runs one request handler at a time.
 */
export class SlackWorkspace {
  readonly team: { id: string; domain: string; name: string };
  readonly bot: SlackBot;
  readonly verificationToken: string;
  private readonly users = new Map<string, SlackUser>();
  private readonly usergroups = new Map<string, SlackUserGroup>();
  private readonly channels = new Map<string, SlackChannel>();
  private readonly messages = new Map<string, SlackMessageRecord[]>();
  private readonly ephemerals: SlackEphemeralRecord[] = [];
  private readonly actions: UserActionRecord[] = [];
  private readonly views = new Map<string, SlackViewRecord>();
  /** Per person: the modal stack, root first. */
  private readonly modalStacks = new Map<string, string[]>();
  private readonly homeTabs = new Map<string, string>();
  private readonly triggers = new Map<string, TriggerRecord>();
  private readonly responseUrls = new Map<string, ResponseUrlRecord>();
  private readonly files = new Map<string, SlackFileRecord>();
  private readonly calls: ApiCallRecord[] = [];
  private readonly events = new EventEmitter();
  private lastTsMicros = 0;
  private idCounter = 0;
  private readonly now: () => number;

  constructor(seed: WorkspaceSeed, options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
    this.events.setMaxListeners(0);
    this.team = { id: seed.team.id, domain: seed.team.domain, name: seed.team.name ?? seed.team.domain };
    this.bot = {
      user_id: seed.bot.user_id,
      bot_id: seed.bot.bot_id,
      token: seed.bot.token,
      ...(seed.bot.app_token !== undefined && { app_token: seed.bot.app_token }),
      name: seed.bot.name ?? 'pachbackup',
      app_id: seed.bot.app_id ?? 'A0PACHBACKUP',
    };
    this.verificationToken = seed.verificationToken ?? 'sandbox-verification-token';
    for (const u of seed.users) this.users.set(u.id, this.makeUser(u));
    if (!this.users.has(this.bot.user_id)) {
      this.users.set(this.bot.user_id, this.makeUser({ id: this.bot.user_id, name: this.bot.name, real_name: this.bot.name, is_bot: true }));
    }
    for (const g of seed.usergroups ?? []) {
      this.usergroups.set(g.id, { id: g.id, handle: g.handle, name: g.name ?? g.handle, users: [...g.users] });
    }
    const created = Math.floor(this.now() / 1000);
    for (const c of seed.channels) {
      const members = [...(c.members ?? [])];
      if (c.botIsMember !== false && !members.includes(this.bot.user_id)) members.push(this.bot.user_id);
      this.channels.set(c.id, {
        id: c.id,
        name: c.name.replace(/^#/, ''),
        members,
        is_private: c.is_private ?? false,
        is_archived: c.is_archived ?? false,
        is_im: false,
        topic: c.topic ?? '',
        purpose: c.purpose ?? '',
        created,
      });
      this.messages.set(c.id, []);
    }
  }

  /** Subscribes to every change; returns the unsubscribe function. */
  onChange(listener: (change: WorkspaceChange) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  private emit(change: WorkspaceChange): void {
    this.events.emit('change', change);
  }

  /** A new message timestamp: `"<seconds>.<6 digits>"`, strictly increasing and unique in this workspace. */
  nextTs(): string {
    const micros = Math.max(Math.floor(this.now() * 1000), this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }

  /** A new Slack-looking id with the given prefix (`V` views, `F` files, ...), deterministic per workspace. */
  newId(prefix: string): string {
    this.idCounter += 1;
    return `${prefix}0${this.idCounter.toString(36).toUpperCase().padStart(9, '0')}`;
  }

  /** The current time in milliseconds, as the workspace's clock sees it. */
  nowMs(): number {
    return this.now();
  }

  // ---- people and channels ------------------------------------------------------------------------------

  /** A user by id. */
  user(id: string): SlackUser | undefined {
    return this.users.get(id);
  }

  /** Every user, bots included. */
  allUsers(): SlackUser[] {
    return [...this.users.values()];
  }

  /** A user group by id. */
  usergroup(id: string): SlackUserGroup | undefined {
    return this.usergroups.get(id);
  }

  /** Every user group. */
  allUsergroups(): SlackUserGroup[] {
    return [...this.usergroups.values()];
  }

  /** A channel by id, or by name with or without `#`. */
  channel(idOrName: string): SlackChannel | undefined {
    const byId = this.channels.get(idOrName);
    if (byId) return byId;
    const name = idOrName.replace(/^#/, '');
    for (const c of this.channels.values()) if (!c.is_im && c.name === name) return c;
    return undefined;
  }

  /** Every channel, DMs included. */
  allChannels(): SlackChannel[] {
    return [...this.channels.values()];
  }

  /** The direct-message channel between the bot and a person, created on first use. */
  imChannel(userId: string): SlackChannel {
    for (const c of this.channels.values()) if (c.is_im && c.im_user === userId) return c;
    const id = `D${userId.replace(/^[UW]/, '')}`;
    const channel: SlackChannel = {
      id,
      name: userId,
      members: [userId, this.bot.user_id],
      is_private: true,
      is_archived: false,
      is_im: true,
      im_user: userId,
      topic: '',
      purpose: '',
      created: Math.floor(this.now() / 1000),
    };
    this.channels.set(id, channel);
    this.messages.set(id, []);
    this.emit({ kind: 'channel', id });
    return channel;
  }

  /** Adds or removes the bot from a channel (to exercise `not_in_channel`). */
  setBotMembership(channelId: string, member: boolean): void {
    const c = this.channels.get(channelId);
    if (!c) throw new Error(`no channel ${channelId}`);
    c.members = c.members.filter((m) => m !== this.bot.user_id);
    if (member) c.members.push(this.bot.user_id);
    this.emit({ kind: 'channel', id: channelId });
  }

  private makeUser(u: UserSeed): SlackUser {
    const tz = u.tz ?? 'UTC';
    const offset = tzOffsetSeconds(tz, this.now());
    return {
      id: u.id,
      team_id: this.team.id,
      name: u.name,
      real_name: u.real_name ?? u.name,
      tz,
      tz_label: tz,
      tz_offset: offset,
      is_bot: u.is_bot ?? false,
      title: u.title ?? '',
    };
  }

  // ---- messages -----------------------------------------------------------------------------------------

  /** Posts a message; a reply to a reply joins the parent's thread, as in Slack. */
  postMessage(input: {
    channel: string;
    user?: string;
    bot_id?: string;
    text: string;
    blocks?: Block[];
    attachments?: unknown[];
    files?: string[];
    metadata?: unknown;
    thread_ts?: string;
    reply_broadcast?: boolean;
  }): SlackMessageRecord {
    const list = this.messages.get(input.channel);
    if (!list) throw new Error(`no channel ${input.channel}`);
    let threadTs = input.thread_ts;
    if (threadTs !== undefined) {
      const parent = list.find((m) => m.ts === threadTs);
      if (parent?.thread_ts !== undefined) threadTs = parent.thread_ts;
      if (parent && parent.thread_ts === undefined) parent.thread_ts = parent.ts;
    }
    const record: SlackMessageRecord = {
      channel: input.channel,
      ts: this.nextTs(),
      text: input.text,
      reply_broadcast: threadTs !== undefined && (input.reply_broadcast ?? false),
      edits: [],
      deleted: false,
    };
    if (threadTs !== undefined) record.thread_ts = threadTs;
    if (input.user !== undefined) record.user = input.user;
    if (input.bot_id !== undefined) record.bot_id = input.bot_id;
    if (input.blocks !== undefined) record.blocks = input.blocks;
    if (input.attachments !== undefined) record.attachments = input.attachments;
    if (input.files !== undefined) record.files = input.files;
    if (input.metadata !== undefined) record.metadata = input.metadata;
    list.push(record);
    this.emit({ kind: 'message', channel: record.channel, ts: record.ts });
    return record;
  }

  /** A message by channel and ts (deleted ones included). */
  message(channel: string, ts: string): SlackMessageRecord | undefined {
    return this.messages.get(channel)?.find((m) => m.ts === ts);
  }

  /** Every message of a channel, oldest first, replies included. */
  channelMessages(channel: string): SlackMessageRecord[] {
    return [...(this.messages.get(channel) ?? [])];
  }

  /** Replaces a message's content, keeping the previous version in `edits`. Absent fields are kept. */
  updateMessage(
    channel: string,
    ts: string,
    patch: { text?: string; blocks?: Block[]; attachments?: unknown[]; metadata?: unknown },
    editor: string,
  ): SlackMessageRecord {
    const m = this.message(channel, ts);
    if (!m || m.deleted) throw new Error(`no message ${channel}/${ts}`);
    const revision: MessageRevision = { text: m.text, replaced_at: this.nextTs() };
    if (m.blocks !== undefined) revision.blocks = m.blocks;
    if (m.attachments !== undefined) revision.attachments = m.attachments;
    m.edits.push(revision);
    if (patch.text !== undefined) m.text = patch.text;
    if (patch.blocks !== undefined) m.blocks = patch.blocks;
    if (patch.attachments !== undefined) m.attachments = patch.attachments;
    if (patch.metadata !== undefined) m.metadata = patch.metadata;
    m.edited = { user: editor, ts: revision.replaced_at };
    this.emit({ kind: 'message', channel, ts });
    return m;
  }

  /** Marks a message deleted (a parent with replies stays as a tombstone, as in Slack). */
  deleteMessage(channel: string, ts: string): void {
    const m = this.message(channel, ts);
    if (!m) throw new Error(`no message ${channel}/${ts}`);
    m.deleted = true;
    this.emit({ kind: 'message', channel, ts });
  }

  // ---- ephemerals and user actions ----------------------------------------------------------------------

  /** Shows a message to one person only. */
  postEphemeral(input: {
    channel: string;
    user: string;
    text: string;
    blocks?: Block[];
    attachments?: unknown[];
    thread_ts?: string;
    source: EphemeralSource;
    bot_id?: string;
    author_name?: string;
  }): SlackEphemeralRecord {
    const record: SlackEphemeralRecord = {
      id: this.newId('E'),
      channel: input.channel,
      user: input.user,
      ts: this.nextTs(),
      text: input.text,
      source: input.source,
      edit_count: 0,
      deleted: false,
    };
    if (input.thread_ts !== undefined) record.thread_ts = input.thread_ts;
    if (input.blocks !== undefined) record.blocks = input.blocks;
    if (input.attachments !== undefined) record.attachments = input.attachments;
    if (input.bot_id !== undefined) record.bot_id = input.bot_id;
    if (input.author_name !== undefined) record.author_name = input.author_name;
    this.ephemerals.push(record);
    this.emit({ kind: 'ephemeral', id: record.id });
    return record;
  }

  /** An ephemeral message by id. */
  ephemeral(id: string): SlackEphemeralRecord | undefined {
    return this.ephemerals.find((e) => e.id === id);
  }

  /** An ephemeral message by the `ts` its recipient saw (what an interaction on it carries). */
  ephemeralByTs(user: string, ts: string): SlackEphemeralRecord | undefined {
    return this.ephemerals.find((e) => e.user === user && e.ts === ts && !e.deleted);
  }

  /** Every ephemeral message, oldest first. */
  allEphemerals(): SlackEphemeralRecord[] {
    return [...this.ephemerals];
  }

  /** Replaces an ephemeral message in place (response_url `replace_original`). */
  replaceEphemeral(id: string, content: { text: string; blocks?: Block[]; attachments?: unknown[] }): SlackEphemeralRecord {
    const e = this.ephemeral(id);
    if (!e) throw new Error(`no ephemeral ${id}`);
    e.text = content.text;
    if (content.blocks !== undefined) e.blocks = content.blocks;
    else delete e.blocks;
    if (content.attachments !== undefined) e.attachments = content.attachments;
    else delete e.attachments;
    e.edit_count += 1;
    this.emit({ kind: 'ephemeral', id });
    return e;
  }

  /** Removes an ephemeral message from its recipient's screen. */
  deleteEphemeral(id: string): void {
    const e = this.ephemeral(id);
    if (!e) throw new Error(`no ephemeral ${id}`);
    e.deleted = true;
    this.emit({ kind: 'ephemeral', id });
  }

  /** Records something a simulated person did (a command, a click, a submission). */
  recordAction(input: Omit<UserActionRecord, 'ts'>): UserActionRecord {
    const record: UserActionRecord = { ...input, ts: this.nextTs() };
    this.actions.push(record);
    this.emit({ kind: 'action', ts: record.ts });
    return record;
  }

  // ---- triggers and response URLs -----------------------------------------------------------------------

  /** Issues a trigger id for an interaction by `user`. */
  issueTrigger(input: { user: string; channel?: string; view_id?: string }): TriggerRecord {
    const seconds = Math.floor(this.now() / 1000);
    const record: TriggerRecord = {
      id: `${seconds}.${this.team.id.replace(/\D/g, '') || '1'}${randomDigits(9)}.${randomBytes(16).toString('hex')}`,
      user: input.user,
      issued_at_ms: this.now(),
      exchanged: false,
    };
    if (input.channel !== undefined) record.channel = input.channel;
    if (input.view_id !== undefined) record.view_id = input.view_id;
    this.triggers.set(record.id, record);
    return record;
  }

  /** A trigger by id. */
  trigger(id: string): TriggerRecord | undefined {
    return this.triggers.get(id);
  }

  /** Registers a response URL id for an interaction. */
  createResponseUrl(input: { user: string; channel: string; thread_ts?: string; origin: ResponseUrlOrigin }): ResponseUrlRecord {
    const record: ResponseUrlRecord = {
      id: `${this.team.id}/${randomDigits(13)}/${randomBytes(12).toString('hex')}`,
      user: input.user,
      channel: input.channel,
      origin: input.origin,
      created_at_ms: this.now(),
      uses: 0,
    };
    if (input.thread_ts !== undefined) record.thread_ts = input.thread_ts;
    this.responseUrls.set(record.id, record);
    return record;
  }

  /** A response URL by id. */
  responseUrl(id: string): ResponseUrlRecord | undefined {
    return this.responseUrls.get(id);
  }

  // ---- views --------------------------------------------------------------------------------------------

  /** A view by id. */
  view(id: string): SlackViewRecord | undefined {
    return this.views.get(id);
  }

  /** A view by the app's `external_id`. */
  viewByExternalId(externalId: string): SlackViewRecord | undefined {
    for (const v of this.views.values()) if (v.external_id === externalId && externalId !== '') return v;
    return undefined;
  }

  /** Every view, modals and home tabs. */
  allViews(): SlackViewRecord[] {
    return [...this.views.values()];
  }

  /** The modals a person has on screen, root first. */
  modalStack(user: string): SlackViewRecord[] {
    return (this.modalStacks.get(user) ?? []).flatMap((id) => {
      const v = this.views.get(id);
      return v ? [v] : [];
    });
  }

  /** The home tab published for a person. */
  homeTab(user: string): SlackViewRecord | undefined {
    const id = this.homeTabs.get(user);
    return id === undefined ? undefined : this.views.get(id);
  }

  /**
   * Opens a modal (`mode: 'open'` replaces whatever modals the person had), or pushes one on top of their stack.
   */
  openModal(user: string, view: ViewContent, options: { mode: 'open' | 'push'; trigger_id: string }): SlackViewRecord {
    const stack = options.mode === 'open' ? [] : [...(this.modalStacks.get(user) ?? [])];
    if (options.mode === 'open') for (const v of this.modalStack(user)) v.open = false;
    const id = this.newId('V');
    const previous = stack.at(-1) ?? null;
    const record = this.makeView(id, user, 'modal', view, { root: stack[0] ?? id, previous });
    record.trigger_id = options.trigger_id;
    stack.push(id);
    this.modalStacks.set(user, stack);
    this.views.set(id, record);
    this.emit({ kind: 'view', id });
    return record;
  }

  /** Replaces a view's content, giving it a new hash. */
  updateView(id: string, view: ViewContent): SlackViewRecord {
    const old = this.views.get(id);
    if (!old) throw new Error(`no view ${id}`);
    const record = this.makeView(id, old.user, old.type, view, { root: old.root_view_id, previous: old.previous_view_id });
    record.open = old.open;
    record.revisions = old.revisions + 1;
    if (old.trigger_id !== undefined) record.trigger_id = old.trigger_id;
    this.views.set(id, record);
    this.emit({ kind: 'view', id });
    return record;
  }

  /** Publishes (creates or replaces) a person's home tab. */
  publishHome(user: string, view: ViewContent): SlackViewRecord {
    const existing = this.homeTab(user);
    if (existing) return this.updateView(existing.id, view);
    const id = this.newId('V');
    const record = this.makeView(id, user, 'home', view, { root: id, previous: null });
    this.views.set(id, record);
    this.homeTabs.set(user, id);
    this.emit({ kind: 'view', id });
    return record;
  }

  /** Closes modals: one (`pop`, the top) or the whole stack (`clear`). */
  closeModals(user: string, how: 'pop' | 'clear'): void {
    const stack = this.modalStacks.get(user) ?? [];
    const closing = how === 'clear' ? stack.splice(0) : stack.splice(-1);
    for (const id of closing) {
      const v = this.views.get(id);
      if (v) {
        v.open = false;
        this.emit({ kind: 'view', id });
      }
    }
  }

  /** Records field errors the app returned for a submission. */
  setViewErrors(id: string, errors: Record<string, string> | undefined): void {
    const v = this.views.get(id);
    if (!v) throw new Error(`no view ${id}`);
    if (errors) v.errors = errors;
    else delete v.errors;
    this.emit({ kind: 'view', id });
  }

  /** Stores what a person typed or chose in a view. */
  setViewState(id: string, values: Record<string, Record<string, unknown>>): void {
    const v = this.views.get(id);
    if (!v) throw new Error(`no view ${id}`);
    v.state = { values };
  }

  private makeView(
    id: string,
    user: string,
    type: 'modal' | 'home',
    view: ViewContent,
    links: { root: string; previous: string | null },
  ): SlackViewRecord {
    const record: SlackViewRecord = {
      id,
      team_id: this.team.id,
      app_id: this.bot.app_id,
      bot_id: this.bot.bot_id,
      type,
      user,
      hash: `${Math.floor(this.now() / 1000)}.${randomBytes(6).toString('base64url')}`,
      callback_id: view.callback_id ?? '',
      private_metadata: view.private_metadata ?? '',
      external_id: view.external_id ?? '',
      blocks: view.blocks ?? [],
      state: { values: {} },
      root_view_id: links.root,
      previous_view_id: links.previous,
      notify_on_close: view.notify_on_close ?? false,
      clear_on_close: view.clear_on_close ?? false,
      open: true,
      revisions: 0,
    };
    if (view.title !== undefined) record.title = view.title;
    if (view.submit !== undefined) record.submit = view.submit;
    if (view.close !== undefined) record.close = view.close;
    return record;
  }

  // ---- files --------------------------------------------------------------------------------------------

  /** Reserves a file id for an upload of `length` bytes. */
  createFile(input: { name: string; length: number; user: string; alt_text?: string }): SlackFileRecord {
    const record: SlackFileRecord = {
      id: this.newId('F'),
      name: input.name,
      title: input.name,
      length: input.length,
      mimetype: mimetypeFor(input.name),
      user: input.user,
      created: Math.floor(this.now() / 1000),
      completed: false,
      shares: [],
    };
    if (input.alt_text !== undefined) record.alt_text = input.alt_text;
    this.files.set(record.id, record);
    this.emit({ kind: 'file', id: record.id });
    return record;
  }

  /** A file by id. */
  file(id: string): SlackFileRecord | undefined {
    return this.files.get(id);
  }

  /** Every file. */
  allFiles(): SlackFileRecord[] {
    return [...this.files.values()];
  }

  /** Stores the uploaded bytes of a reserved file. */
  storeFileBytes(id: string, bytes: Buffer): void {
    const f = this.files.get(id);
    if (!f) throw new Error(`no file ${id}`);
    f.bytes = bytes;
    this.emit({ kind: 'file', id });
  }

  /** Marks a file complete, with its title. */
  completeFile(id: string, title: string | undefined): SlackFileRecord {
    const f = this.files.get(id);
    if (!f) throw new Error(`no file ${id}`);
    f.completed = true;
    if (title) f.title = title;
    this.emit({ kind: 'file', id });
    return f;
  }

  /** Notes that a file was shared with a message. */
  addFileShare(id: string, share: { channel: string; ts: string; thread_ts?: string }): void {
    this.files.get(id)?.shares.push(share);
  }

  // ---- API call log -------------------------------------------------------------------------------------

  /** Appends a Web API call to the log. */
  recordCall(input: Omit<ApiCallRecord, 'seq' | 'at'>): ApiCallRecord {
    const record: ApiCallRecord = { seq: this.calls.length + 1, at: new Date(this.now()).toISOString(), ...input };
    this.calls.push(record);
    this.emit({ kind: 'call', seq: record.seq });
    return record;
  }

  /** Every Web API call so far, oldest first. */
  apiCalls(): ApiCallRecord[] {
    return [...this.calls];
  }

  // ---- what people see ----------------------------------------------------------------------------------

  /** The name shown for an author: a user's handle, the bot's name, or the user id when unknown. */
  authorName(m: { user?: string; bot_id?: string; author_name?: string }): string {
    if (m.author_name !== undefined) return m.author_name;
    if (m.bot_id === this.bot.bot_id) return this.bot.name;
    if (m.user !== undefined) return this.users.get(m.user)?.name ?? m.user;
    return m.bot_id ?? 'unknown';
  }

  /** The whole visible state, as plain JSON. */
  snapshot(): SlackSnapshot {
    const channels: ChannelView[] = [];
    for (const c of this.channels.values()) {
      const all = this.messages.get(c.id) ?? [];
      const view = (m: SlackMessageRecord): MessageView => this.messageView(c, m, all);
      const top = all.filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts || m.reply_broadcast);
      const visible = top.filter((m) => !m.deleted || (m.thread_ts === m.ts && hasLiveReplies(m, all)));
      channels.push({
        id: c.id,
        name: c.name,
        is_private: c.is_private,
        is_im: c.is_im,
        members: [...c.members],
        messages: visible.map(view),
      });
    }
    const ephemerals = this.ephemerals
      .filter((e) => !e.deleted)
      .map((e): EphemeralView => {
        const view: EphemeralView = {
          id: e.id,
          channel: e.channel,
          channel_name: this.channels.get(e.channel)?.name ?? e.channel,
          user: e.user,
          user_name: this.users.get(e.user)?.name ?? e.user,
          ts: e.ts,
          author: this.authorName(e),
          text: e.text,
          source: e.source,
          edit_count: e.edit_count,
        };
        if (e.thread_ts !== undefined) view.thread_ts = e.thread_ts;
        if (e.blocks !== undefined) view.blocks = e.blocks;
        if (e.attachments !== undefined) view.attachments = e.attachments;
        return view;
      });
    return {
      team: { ...this.team },
      bot: { user_id: this.bot.user_id, bot_id: this.bot.bot_id, name: this.bot.name, app_id: this.bot.app_id },
      users: this.allUsers(),
      usergroups: this.allUsergroups(),
      channels,
      ephemerals,
      actions: [...this.actions],
      views: this.allViews().map(({ trigger_id: _trigger, ...v }) => v),
      files: this.allFiles().map((f) => fileView(f)),
    };
  }

  private messageView(c: SlackChannel, m: SlackMessageRecord, all: SlackMessageRecord[]): MessageView {
    const isParent = m.thread_ts === m.ts;
    const replies = isParent ? all.filter((r) => r.thread_ts === m.ts && r.ts !== m.ts && !r.deleted) : [];
    const view: MessageView = {
      channel: c.id,
      channel_name: c.name,
      ts: m.ts,
      author: this.authorName(m),
      text: m.deleted ? 'This message was deleted.' : m.text,
      edit_count: m.edits.length,
      reply_count: replies.length,
      replies: replies.map((r) => this.messageView(c, r, [])),
    };
    if (m.thread_ts !== undefined) view.thread_ts = m.thread_ts;
    if (m.user !== undefined) view.user = m.user;
    if (m.bot_id !== undefined) view.bot_id = m.bot_id;
    if (m.deleted) {
      view.subtype = 'tombstone';
      return view;
    }
    if (m.reply_broadcast) view.subtype = 'thread_broadcast';
    if (m.blocks !== undefined) view.blocks = m.blocks;
    if (m.attachments !== undefined) view.attachments = m.attachments;
    if (m.files !== undefined) {
      view.files = m.files.flatMap((id) => {
        const f = this.files.get(id);
        return f ? [fileView(f)] : [];
      });
    }
    if (m.edited !== undefined) view.edited = { ...m.edited };
    return view;
  }
}

/** What an app gives views.open / views.update / views.push / views.publish. */
export interface ViewContent {
  type: string;
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  blocks?: Block[];
  callback_id?: string;
  private_metadata?: string;
  external_id?: string;
  notify_on_close?: boolean;
  clear_on_close?: boolean;
}

/** Every message of a snapshot, replies included, each once, oldest first. */
export function flattenMessages(snapshot: SlackSnapshot): MessageView[] {
  const seen = new Map<string, MessageView>();
  const visit = (m: MessageView): void => {
    const key = `${m.channel}/${m.ts}`;
    if (!seen.has(key)) seen.set(key, m);
    for (const r of m.replies) visit(r);
  };
  for (const c of snapshot.channels) for (const m of c.messages) visit(m);
  return [...seen.values()].sort((a, b) => compareTs(a.ts, b.ts));
}

/** Orders two Slack timestamps. */
export function compareTs(a: string, b: string): number {
  const [as = '0', af = '0'] = a.split('.');
  const [bs = '0', bf = '0'] = b.split('.');
  return Number(as) - Number(bs) || Number(af.padEnd(6, '0')) - Number(bf.padEnd(6, '0'));
}

function hasLiveReplies(parent: SlackMessageRecord, all: SlackMessageRecord[]): boolean {
  return all.some((r) => r.thread_ts === parent.ts && r.ts !== parent.ts && !r.deleted);
}

function fileView(f: SlackFileRecord): FileView {
  const view: FileView = { id: f.id, name: f.name, title: f.title, size: f.bytes?.length ?? 0, mimetype: f.mimetype, user: f.user };
  if (f.bytes && f.bytes.length <= 64 * 1024 && /^(text\/|application\/(json|x-ndjson|yaml))/.test(f.mimetype)) {
    view.preview = f.bytes.toString('utf8');
  }
  return view;
}

function randomDigits(n: number): string {
  let out = '';
  for (const b of randomBytes(n)) out += String(b % 10);
  return out;
}

const MIME_TYPES: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  gz: 'application/gzip',
  png: 'image/png',
  pdf: 'application/pdf',
};

function mimetypeFor(name: string): string {
  const ext = name.includes('.') ? (name.split('.').pop() ?? '').toLowerCase() : '';
  return MIME_TYPES[ext] ?? 'application/octet-stream';
}

/** The UTC offset of an IANA time zone at an instant, in seconds (0 for an unknown zone). */
function tzOffsetSeconds(tz: string, atMs: number): number {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' }).formatToParts(new Date(atMs));
    const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const match = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
    if (!match) return 0;
    const sign = match[1] === '-' ? -1 : 1;
    return sign * (Number(match[2]) * 3600 + Number(match[3] ?? '0') * 60);
  } catch {
    return 0;
  }
}
