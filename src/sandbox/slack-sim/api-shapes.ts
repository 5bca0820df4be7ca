import type { SlackChannel, SlackFileRecord, SlackMessageRecord, SlackUser, SlackViewRecord, SlackWorkspace } from './workspace.js';

/**
 * The JSON shapes Slack uses for messages, views, channels, users and files — in Web API answers and in the
 * payloads the driver sends to the app — built from the workspace's records. One place, so an API answer and an
 * interaction payload describe the same message the same way.
 */

/**
 * A message as chat.postMessage, conversations.history and `block_actions` payloads carry it. Its metadata is left
 * out where Slack leaves it out: conversations.history and .replies give it only with `include_all_metadata`.
 */
export function apiMessage(ws: SlackWorkspace, m: SlackMessageRecord, options: { metadata?: boolean } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { type: 'message', ts: m.ts, text: m.text, team: ws.team.id };
  if (m.deleted) out.subtype = 'tombstone';
  else if (m.reply_broadcast) out.subtype = 'thread_broadcast';
  if (m.user !== undefined) out.user = m.user;
  if (m.bot_id !== undefined) {
    out.bot_id = m.bot_id;
    if (m.bot_id === ws.bot.bot_id) {
      out.app_id = ws.bot.app_id;
      out.bot_profile = { id: ws.bot.bot_id, app_id: ws.bot.app_id, name: ws.bot.name, team_id: ws.team.id, deleted: false };
    }
  }
  if (m.thread_ts !== undefined) out.thread_ts = m.thread_ts;
  if (m.thread_ts === m.ts) {
    const replies = ws.channelMessages(m.channel).filter((r) => r.thread_ts === m.ts && r.ts !== m.ts && !r.deleted);
    out.reply_count = replies.length;
    out.reply_users = [...new Set(replies.map((r) => r.user ?? r.bot_id ?? ''))];
    out.latest_reply = replies.at(-1)?.ts ?? m.ts;
  }
  if (m.blocks !== undefined) out.blocks = m.blocks;
  if (m.attachments !== undefined) out.attachments = m.attachments;
  if (m.metadata !== undefined && options.metadata !== false) out.metadata = m.metadata;
  if (m.files !== undefined) {
    out.files = m.files.flatMap((id) => {
      const f = ws.file(id);
      return f ? [apiFile(ws, f)] : [];
    });
    out.upload = true;
  }
  if (m.edited !== undefined) out.edited = { ...m.edited };
  return out;
}

/** A view as views.open/update/push/publish answer it and as `view_submission` payloads carry it. */
export function apiView(v: SlackViewRecord): Record<string, unknown> {
  return {
    id: v.id,
    team_id: v.team_id,
    type: v.type,
    blocks: v.blocks,
    private_metadata: v.private_metadata,
    callback_id: v.callback_id,
    state: v.state,
    hash: v.hash,
    title: v.title,
    clear_on_close: v.clear_on_close,
    notify_on_close: v.notify_on_close,
    close: v.close ?? null,
    submit: v.submit ?? null,
    previous_view_id: v.previous_view_id,
    root_view_id: v.root_view_id,
    app_id: v.app_id,
    external_id: v.external_id,
    app_installed_team_id: v.team_id,
    bot_id: v.bot_id,
  };
}

/** A channel as conversations.info answers it, from the bot's point of view. */
export function apiChannel(ws: SlackWorkspace, c: SlackChannel): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: c.id,
    name: c.name,
    is_channel: !c.is_im && !c.is_private,
    is_group: false,
    is_im: c.is_im,
    is_private: c.is_private,
    is_archived: c.is_archived,
    is_general: false,
    is_member: c.members.includes(ws.bot.user_id),
    created: c.created,
    creator: '',
    context_team_id: ws.team.id,
    topic: { value: c.topic, creator: '', last_set: 0 },
    purpose: { value: c.purpose, creator: '', last_set: 0 },
    num_members: c.members.length,
  };
  if (c.im_user !== undefined) out.user = c.im_user;
  return out;
}

/** A user as users.info answers it. */
export function apiUser(u: SlackUser): Record<string, unknown> {
  return {
    id: u.id,
    team_id: u.team_id,
    name: u.name,
    deleted: false,
    real_name: u.real_name,
    tz: u.tz,
    tz_label: u.tz_label,
    tz_offset: u.tz_offset,
    is_admin: false,
    is_owner: false,
    is_bot: u.is_bot,
    is_app_user: false,
    profile: {
      real_name: u.real_name,
      display_name: u.name,
      real_name_normalized: u.real_name,
      display_name_normalized: u.name,
      title: u.title,
      team: u.team_id,
    },
  };
}

/** A file as files.info and files.completeUploadExternal answer it. */
export function apiFile(ws: SlackWorkspace, f: SlackFileRecord): Record<string, unknown> {
  const publicShares: Record<string, { ts: string; thread_ts?: string; channel_name: string }[]> = {};
  for (const s of f.shares) {
    const share: { ts: string; thread_ts?: string; channel_name: string } = { ts: s.ts, channel_name: ws.channel(s.channel)?.name ?? s.channel };
    if (s.thread_ts !== undefined) share.thread_ts = s.thread_ts;
    (publicShares[s.channel] ??= []).push(share);
  }
  return {
    id: f.id,
    created: f.created,
    timestamp: f.created,
    name: f.name,
    title: f.title,
    mimetype: f.mimetype,
    filetype: f.name.includes('.') ? (f.name.split('.').pop() ?? '') : '',
    user: f.user,
    size: f.bytes?.length ?? f.length,
    is_public: f.shares.length > 0,
    url_private: `https://files.slack.com/files-pri/${ws.team.id}-${f.id}/${encodeURIComponent(f.name)}`,
    permalink: `https://${ws.team.domain}.slack.com/files/${f.user}/${f.id}/${encodeURIComponent(f.name)}`,
    channels: [...new Set(f.shares.map((s) => s.channel))],
    shares: { public: publicShares },
    alt_txt: f.alt_text,
  };
}
