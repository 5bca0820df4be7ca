import type { Block, EphemeralView, FileView, MessageView, SlackSnapshot, UserActionRecord } from './workspace.js';
import { compareTs } from './workspace.js';

/**
 * A plain-text rendering of the simulated workspace as a person would read it in Slack: per channel, each
 * message with its time (UTC), author and what Slack would display (blocks rather than the fallback text,
 * buttons as `[ Approve ]`, mentions and date tokens resolved), "(edited)" on edited messages, thread replies
 * indented under their parent, ephemeral messages marked with who sees them, and what the simulated people did
 * (`» @alice: /pachbackup backup prod`). A pure function of a snapshot.
 */

/** How to render. */
export interface TranscriptOptions {
  /** Wrap lines at this many characters (default 100). */
  width?: number;
  /** Only these channels (ids or names, with or without `#`). Default: every channel with something in it. */
  channels?: string[];
  /** Render open modals and home tabs at the end (default true). */
  includeViews?: boolean;
}

type Entry =
  | { kind: 'message'; ts: string; message: MessageView }
  | { kind: 'ephemeral'; ts: string; ephemeral: EphemeralView }
  | { kind: 'action'; ts: string; action: UserActionRecord };

const TIME_WIDTH = 10; // "HH:MM:SS  "

/** Renders a snapshot (what `GET /messages` answers) as readable text. */
export function renderTranscript(state: SlackSnapshot, options: TranscriptOptions = {}): string {
  const width = Math.max(40, options.width ?? 100);
  const ctx: RenderContext = { state, width };
  const wanted = options.channels?.map((c) => c.replace(/^#/, ''));
  const out: string[] = [];

  for (const channel of state.channels) {
    if (wanted && !wanted.includes(channel.id) && !wanted.includes(channel.name)) continue;
    const ephemerals = state.ephemerals.filter((e) => e.channel === channel.id);
    const actions = state.actions.filter((a) => a.channel === channel.id);
    if (!wanted && channel.messages.length === 0 && ephemerals.length === 0 && actions.length === 0) continue;

    const title = channel.is_im ? `DM with @${userName(state, imUser(channel.members, state))}` : `#${channel.name}`;
    if (out.length) out.push('');
    out.push(title, '═'.repeat(Math.min(width, Math.max(title.length, 40))));

    const timeline: Entry[] = [
      ...channel.messages.map((m): Entry => ({ kind: 'message', ts: m.ts, message: m })),
      ...ephemerals.filter((e) => e.thread_ts === undefined).map((e): Entry => ({ kind: 'ephemeral', ts: e.ts, ephemeral: e })),
      ...actions.filter((a) => a.thread_ts === undefined).map((a): Entry => ({ kind: 'action', ts: a.ts, action: a })),
    ].sort((a, b) => compareTs(a.ts, b.ts));
    if (timeline.length === 0) out.push('(no messages)');

    for (const entry of timeline) {
      out.push(...renderEntry(ctx, entry, '', false));
      if (entry.kind !== 'message') continue;
      const m = entry.message;
      if (m.subtype === 'thread_broadcast') continue;
      const thread: Entry[] = [
        ...m.replies.map((r): Entry => ({ kind: 'message', ts: r.ts, message: r })),
        ...ephemerals.filter((e) => e.thread_ts === m.ts).map((e): Entry => ({ kind: 'ephemeral', ts: e.ts, ephemeral: e })),
        ...actions.filter((a) => a.thread_ts === m.ts).map((a): Entry => ({ kind: 'action', ts: a.ts, action: a })),
      ].sort((a, b) => compareTs(a.ts, b.ts));
      if (thread.length === 0) continue;
      const count = m.replies.length;
      out.push(`${' '.repeat(TIME_WIDTH)}└ ${count} ${count === 1 ? 'reply' : 'replies'}`);
      for (const reply of thread) out.push(...renderEntry(ctx, reply, `${' '.repeat(TIME_WIDTH)}│ `, true));
    }
  }

  if (options.includeViews ?? true) out.push(...renderViews(ctx, wanted !== undefined));
  return `${out.join('\n')}\n`;
}

interface RenderContext {
  state: SlackSnapshot;
  width: number;
}

function renderEntry(ctx: RenderContext, entry: Entry, indent: string, inThread: boolean): string[] {
  const time = formatTime(entry.ts);
  if (entry.kind === 'action') {
    const a = entry.action;
    const who = `@${userName(ctx.state, a.user)}`;
    const what = a.kind === 'click' ? `${who} clicked [ ${a.description} ]` : `${who}: ${a.description}`;
    return wrapLines([`${time}  » ${what}`], indent, ctx.width, ' '.repeat(TIME_WIDTH + 2));
  }
  const lines: string[] = [];
  if (entry.kind === 'ephemeral') {
    const e = entry.ephemeral;
    lines.push(`${time}  ${e.author}${e.author === ctx.state.bot.name ? ' (app)' : ''}  (only visible to @${e.user_name})`);
    lines.push(...indentBody(ctx, renderContent(ctx, e), indent));
    return [...wrapLines(lines.slice(0, 1), indent, ctx.width, ''), ...lines.slice(1)];
  }
  const m = entry.message;
  const isBot = m.bot_id !== undefined && m.bot_id === ctx.state.bot.bot_id;
  let header = `${time}  ${isBot ? `${m.author} (app)` : `@${m.author}`}`;
  if (m.subtype === 'thread_broadcast') header += inThread ? '  (also sent to the channel)' : '  (replied to a thread)';
  lines.push(header);
  const body = m.subtype === 'tombstone' ? ['This message was deleted.'] : renderContent(ctx, m);
  if (m.edit_count > 0 && m.subtype !== 'tombstone') {
    const last = body.pop() ?? '';
    body.push(last === '' ? '(edited)' : `${last} (edited)`);
  }
  lines.push(...indentBody(ctx, body, indent));
  return [...wrapLines(lines.slice(0, 1), indent, ctx.width, ''), ...lines.slice(1)];
}

function indentBody(ctx: RenderContext, body: string[], indent: string): string[] {
  return wrapLines(body, `${indent}${' '.repeat(TIME_WIDTH)}`, ctx.width, '');
}

/** What Slack displays for a message: its blocks (or text when it has none), attachments, then files. */
function renderContent(ctx: RenderContext, m: { text: string; blocks?: Block[]; attachments?: unknown[]; files?: FileView[] }): string[] {
  const lines = m.blocks && m.blocks.length > 0 ? renderBlocks(ctx, m.blocks) : m.text === '' ? [] : mrkdwn(ctx.state, m.text).split('\n');
  for (const a of m.attachments ?? []) lines.push(...renderAttachment(ctx, a));
  for (const f of m.files ?? []) lines.push(`(file: ${f.title !== f.name ? `${f.title} — ` : ''}${f.name}, ${formatBytes(f.size)})`);
  return lines;
}

function renderBlocks(ctx: RenderContext, blocks: Block[]): string[] {
  const lines: string[] = [];
  for (const block of blocks) lines.push(...renderBlock(ctx, block));
  return lines;
}

function renderBlock(ctx: RenderContext, block: Block): string[] {
  const text = (t: unknown): string => textOf(ctx.state, t);
  switch (block.type) {
    case 'header':
      return [`# ${text(block.text)}`];
    case 'section': {
      const lines = block.text !== undefined ? text(block.text).split('\n') : [];
      if (Array.isArray(block.fields)) lines.push(...renderFields(block.fields.map(text), ctx.width - TIME_WIDTH));
      if (block.accessory !== undefined) lines.push(renderElement(ctx.state, block.accessory));
      return lines;
    }
    case 'context':
      return [asArray(block.elements).map((e) => (isRecord(e) && e.type === 'image' ? `(${String(e.alt_text ?? 'image')})` : text(e))).join('  ')];
    case 'divider':
      return ['─'.repeat(Math.min(40, ctx.width - TIME_WIDTH))];
    case 'actions':
      return [asArray(block.elements).map((e) => renderElement(ctx.state, e)).join('  ')];
    case 'image':
      return [`(image: ${String(block.alt_text ?? '')}${block.title !== undefined ? ` — ${text(block.title)}` : ''})`];
    case 'input': {
      const hint = block.hint !== undefined ? `  (${text(block.hint)})` : '';
      return [`${text(block.label)}${block.optional === true ? ' (optional)' : ''}: ${renderElement(ctx.state, block.element)}${hint}`];
    }
    case 'markdown':
      return String(block.text ?? '').split('\n');
    case 'rich_text':
      return richText(ctx.state, asArray(block.elements)).split('\n');
    default:
      return [`(${block.type})`];
  }
}

/** Section fields side by side in two columns when they fit, as Slack lays them out. */
function renderFields(fields: string[], width: number): string[] {
  const lines: string[] = [];
  const column = Math.floor(width / 2);
  for (let i = 0; i < fields.length; i += 2) {
    const left = fields[i] ?? '';
    const right = fields[i + 1];
    if (right === undefined) {
      lines.push(...left.split('\n'));
      continue;
    }
    const l = left.split('\n');
    const r = right.split('\n');
    if (l.some((x) => x.length >= column - 2)) {
      lines.push(...l, ...r);
      continue;
    }
    for (let j = 0; j < Math.max(l.length, r.length); j++) lines.push(`${(l[j] ?? '').padEnd(column)}${r[j] ?? ''}`.trimEnd());
  }
  return lines;
}

function renderElement(state: SlackSnapshot, element: unknown): string {
  if (!isRecord(element)) return '';
  const text = (t: unknown): string => textOf(state, t);
  switch (element.type) {
    case 'button':
      return `[ ${text(element.text)} ]`;
    case 'image':
      return `(image: ${String(element.alt_text ?? '')})`;
    case 'overflow':
      return '[ ⋯ ]';
    case 'static_select':
    case 'external_select':
    case 'users_select':
    case 'conversations_select':
    case 'channels_select':
    case 'multi_static_select':
    case 'multi_users_select': {
      const initial = isRecord(element.initial_option) ? text(element.initial_option.text) : undefined;
      return `[ ${initial ?? (element.placeholder !== undefined ? text(element.placeholder) : 'Select')} ▾ ]`;
    }
    case 'datepicker':
      return `[ ${String(element.initial_date ?? (element.placeholder !== undefined ? text(element.placeholder) : 'Pick a date'))} ]`;
    case 'timepicker':
      return `[ ${String(element.initial_time ?? (element.placeholder !== undefined ? text(element.placeholder) : 'Pick a time'))} ]`;
    case 'plain_text_input':
    case 'number_input':
    case 'email_text_input':
    case 'url_text_input':
      return `[ ${String(element.initial_value ?? (element.placeholder !== undefined ? text(element.placeholder) : ''))} ]`;
    case 'checkboxes':
    case 'radio_buttons':
      return asArray(element.options)
        .map((o) => `( ) ${isRecord(o) ? text(o.text) : ''}`)
        .join('  ');
    default:
      return `[ ${String(element.type)} ]`;
  }
}

function renderAttachment(ctx: RenderContext, attachment: unknown): string[] {
  if (!isRecord(attachment)) return [];
  const body: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string' && v !== '') body.push(...mrkdwn(ctx.state, v).split('\n'));
  };
  add(attachment.author_name);
  add(attachment.title);
  add(attachment.text);
  for (const f of asArray(attachment.fields)) if (isRecord(f)) body.push(`${String(f.title ?? '')}: ${mrkdwn(ctx.state, String(f.value ?? ''))}`);
  if (Array.isArray(attachment.blocks)) body.push(...renderBlocks(ctx, attachment.blocks as Block[]));
  add(attachment.footer);
  if (body.length === 0) add(attachment.fallback);
  const pretext = typeof attachment.pretext === 'string' && attachment.pretext !== '' ? mrkdwn(ctx.state, attachment.pretext).split('\n') : [];
  return [...pretext, ...body.map((l) => `┃ ${l}`)];
}

function renderViews(ctx: RenderContext, onlyChannels: boolean): string[] {
  if (onlyChannels) return [];
  const out: string[] = [];
  const views = ctx.state.views.filter((v) => v.open);
  const elsewhere = ctx.state.actions.filter((a) => a.channel === undefined);
  if (views.length === 0 && elsewhere.length === 0) return out;
  for (const v of views) {
    const who = `@${userName(ctx.state, v.user)}`;
    const title = v.type === 'home' ? `Home tab of ${who}` : `Modal “${textOf(ctx.state, v.title)}” open for ${who}`;
    out.push('', title, '═'.repeat(Math.min(ctx.width, Math.max(title.length, 40))));
    const body = renderBlocks(ctx, v.blocks);
    for (const [blockId, message] of Object.entries(v.errors ?? {})) body.push(`⚠ ${blockId}: ${message}`);
    if (v.type === 'modal') {
      const buttons = [v.close !== undefined && v.close !== null ? `[ ${textOf(ctx.state, v.close)} ]` : '[ Cancel ]'];
      if (v.submit !== undefined && v.submit !== null) buttons.push(`[ ${textOf(ctx.state, v.submit)} ]`);
      body.push(buttons.join('  '));
    }
    out.push(...wrapLines(body, '  ', ctx.width, ''));
  }
  if (elsewhere.length) {
    out.push('', 'Elsewhere', '═'.repeat(40));
    for (const a of elsewhere) {
      const what = a.kind === 'submit' ? `submitted “${a.description}”` : a.kind === 'close' ? `closed “${a.description}”` : a.description;
      out.push(...wrapLines([`${formatTime(a.ts)}  » @${userName(ctx.state, a.user)} ${what}`], '', ctx.width, ' '.repeat(TIME_WIDTH + 2)));
    }
  }
  return out;
}

// ---- text ------------------------------------------------------------------------------------------------

/** The displayed text of a Block Kit text object (mrkdwn resolved) or of a plain string. */
function textOf(state: SlackSnapshot, t: unknown): string {
  if (typeof t === 'string') return mrkdwn(state, t);
  if (!isRecord(t)) return '';
  if (t.type === 'image') return `(${String(t.alt_text ?? 'image')})`;
  const raw = typeof t.text === 'string' ? t.text : '';
  return t.type === 'plain_text' ? raw : mrkdwn(state, raw);
}

/**
 * Resolves Slack's angle-bracket tokens as the client displays them — `<@U1>` → `@alice`, `<#C1>` → `#ops`,
 * `<!subteam^S1>` → `@platform`, `<!date^…|fallback>` → the fallback, `<url|label>` → label — and unescapes
 * `&lt; &gt; &amp;`. Bold/italic markers are left as written.
 */
export function mrkdwn(state: SlackSnapshot, text: string): string {
  return text
    .replace(/<([^<>]*)>/g, (_match, inner: string) => {
      const [target = '', label] = splitLabel(inner);
      if (target.startsWith('@')) return `@${label ?? userName(state, target.slice(1))}`;
      if (target.startsWith('#')) return `#${label ?? channelName(state, target.slice(1))}`;
      if (target.startsWith('!subteam^')) {
        const id = target.slice('!subteam^'.length);
        return label !== undefined ? (label.startsWith('@') ? label : `@${label}`) : `@${state.usergroups.find((g) => g.id === id)?.handle ?? id}`;
      }
      if (target.startsWith('!date^')) return label ?? formatDateToken(target);
      if (target === '!here' || target === '!channel' || target === '!everyone') return `@${target.slice(1)}`;
      if (target.startsWith('!')) return label ?? target.slice(1);
      return label ?? target;
    })
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function splitLabel(inner: string): [string, string | undefined] {
  const bar = inner.indexOf('|');
  return bar < 0 ? [inner, undefined] : [inner.slice(0, bar), inner.slice(bar + 1)];
}

function formatDateToken(target: string): string {
  const seconds = Number(target.split('^')[1]);
  return Number.isFinite(seconds) ? `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC` : target;
}

function richText(state: SlackSnapshot, elements: unknown[]): string {
  const inline = (items: unknown[]): string =>
    items
      .map((e) => {
        if (!isRecord(e)) return '';
        switch (e.type) {
          case 'text':
            return String(e.text ?? '');
          case 'link':
            return String(e.text ?? e.url ?? '');
          case 'user':
            return `@${userName(state, String(e.user_id ?? ''))}`;
          case 'usergroup':
            return `@${state.usergroups.find((g) => g.id === e.usergroup_id)?.handle ?? String(e.usergroup_id ?? '')}`;
          case 'channel':
            return `#${channelName(state, String(e.channel_id ?? ''))}`;
          case 'emoji':
            return `:${String(e.name ?? '')}:`;
          case 'broadcast':
            return `@${String(e.range ?? 'here')}`;
          case 'date':
            return String(e.fallback ?? formatDateToken(`!date^${String(e.timestamp ?? '')}`));
          default:
            return '';
        }
      })
      .join('');
  return elements
    .map((el) => {
      if (!isRecord(el)) return '';
      const children = asArray(el.elements);
      switch (el.type) {
        case 'rich_text_list':
          return children.map((c) => `• ${isRecord(c) ? inline(asArray(c.elements)) : ''}`).join('\n');
        case 'rich_text_quote':
          return inline(children)
            .split('\n')
            .map((l) => `> ${l}`)
            .join('\n');
        default:
          return inline(children);
      }
    })
    .join('\n');
}

// ---- helpers ---------------------------------------------------------------------------------------------

function userName(state: SlackSnapshot, id: string): string {
  return state.users.find((u) => u.id === id)?.name ?? id;
}

function channelName(state: SlackSnapshot, id: string): string {
  return state.channels.find((c) => c.id === id)?.name ?? id;
}

function imUser(members: string[], state: SlackSnapshot): string {
  return members.find((m) => m !== state.bot.user_id) ?? members[0] ?? '';
}

function formatTime(ts: string): string {
  const seconds = Number(ts.split('.')[0]);
  return new Date(seconds * 1000).toISOString().slice(11, 19);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Prefixes lines and wraps them at word boundaries to fit `width`; continuation lines get `hang` extra. */
function wrapLines(lines: string[], indent: string, width: number, hang: string): string[] {
  const out: string[] = [];
  const room = Math.max(20, width - indent.length);
  for (const line of lines) {
    if (line.length <= room) {
      out.push(`${indent}${line}`.trimEnd());
      continue;
    }
    let rest = line;
    let first = true;
    while (rest.length > 0) {
      const avail = first ? room : Math.max(10, room - hang.length);
      if (rest.length <= avail) {
        out.push(`${indent}${first ? '' : hang}${rest}`.trimEnd());
        break;
      }
      let cut = rest.lastIndexOf(' ', avail);
      if (cut <= 0) cut = avail;
      out.push(`${indent}${first ? '' : hang}${rest.slice(0, cut)}`.trimEnd());
      rest = rest.slice(cut).trimStart();
      first = false;
    }
  }
  return out;
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
