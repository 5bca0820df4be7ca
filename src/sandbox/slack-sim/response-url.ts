import { SlackApiError, isObject, readMessageContent } from './message-content.js';
import { RESPONSE_URL_MAX_USES, RESPONSE_URL_TTL_MS, type SlackWorkspace } from './workspace.js';

/**
 * What the simulator does with a post to a response URL (`/response/<id>`, handed to the app with a slash
 * command or a button click), following Slack's rules: `response_type: 'in_channel'` posts a channel message,
 * anything else an ephemeral message to the person who acted; `replace_original` replaces the message the URL
 * belongs to (the clicked message, or the command's last ephemeral answer); `delete_original` removes it.
 * A URL works five times within 30 minutes. Each post is logged in the call log as method `response_url`.
 */

/** The HTTP answer to a response-URL post. */
export interface ResponseUrlAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Applies one post to a response URL. */
export function postToResponseUrl(ws: SlackWorkspace, id: string, payload: Record<string, unknown>): ResponseUrlAnswer {
  const answer = (status: number, body: Record<string, unknown>): ResponseUrlAnswer => {
    const error = typeof body.error === 'string' ? body.error : undefined;
    const record = { method: 'response_url', args: { response_url_id: id, ...payload }, status, ok: body.ok === true };
    ws.recordCall(error === undefined ? record : { ...record, error });
    return { status, body };
  };
  const rec = ws.responseUrl(id);
  if (!rec || ws.nowMs() - rec.created_at_ms > RESPONSE_URL_TTL_MS) return answer(404, { ok: false, error: 'expired_url' });
  if (rec.uses >= RESPONSE_URL_MAX_USES) return answer(404, { ok: false, error: 'used_url' });
  rec.uses += 1;

  const truthy = (v: unknown): boolean => v === true || v === 'true';
  const origin = rec.origin;
  const originalEphemeral = origin.kind === 'ephemeral' ? origin.ephemeral_id : rec.last_ephemeral_id;
  const originalMessage = origin.kind === 'message' ? ws.message(rec.channel, origin.ts) : undefined;

  if (truthy(payload.delete_original)) {
    if (originalMessage && !originalMessage.deleted && originalMessage.bot_id === ws.bot.bot_id) ws.deleteMessage(rec.channel, originalMessage.ts);
    else if (originalEphemeral !== undefined && ws.ephemeral(originalEphemeral)) ws.deleteEphemeral(originalEphemeral);
    else return answer(404, { ok: false, error: 'message_not_found' });
    return answer(200, { ok: true });
  }

  let content;
  try {
    content = readMessageContent(payload, { required: true });
  } catch (err) {
    if (err instanceof SlackApiError) return answer(400, { ok: false, error: err.error, ...(err.messages.length > 0 && { errors: err.messages }) });
    throw err;
  }
  const text = content.text ?? '';
  const threadTs = typeof payload.thread_ts === 'string' ? payload.thread_ts : rec.thread_ts;

  if (truthy(payload.replace_original)) {
    if (originalMessage && !originalMessage.deleted && originalMessage.bot_id === ws.bot.bot_id) {
      ws.updateMessage(rec.channel, originalMessage.ts, { text, blocks: content.blocks ?? [], attachments: content.attachments ?? [] }, ws.bot.user_id);
      return answer(200, { ok: true });
    }
    if (originalEphemeral !== undefined && ws.ephemeral(originalEphemeral)) {
      ws.replaceEphemeral(originalEphemeral, {
        text,
        ...(content.blocks && { blocks: content.blocks }),
        ...(content.attachments && { attachments: content.attachments }),
      });
      return answer(200, { ok: true });
    }
    // Nothing to replace yet (a command's first answer): Slack posts it as a new message.
  }

  if (payload.response_type === 'in_channel') {
    ws.postMessage({
      channel: rec.channel,
      user: ws.bot.user_id,
      bot_id: ws.bot.bot_id,
      text,
      ...(content.blocks !== undefined && { blocks: content.blocks }),
      ...(content.attachments !== undefined && { attachments: content.attachments }),
      ...(threadTs !== undefined && { thread_ts: threadTs }),
    });
    return answer(200, { ok: true });
  }

  const e = ws.postEphemeral({
    channel: rec.channel,
    user: rec.user,
    text,
    ...(content.blocks !== undefined && { blocks: content.blocks }),
    ...(content.attachments !== undefined && { attachments: content.attachments }),
    ...(threadTs !== undefined && { thread_ts: threadTs }),
    source: 'response_url',
    bot_id: ws.bot.bot_id,
  });
  rec.last_ephemeral_id = e.id;
  return answer(200, { ok: true });
}

/**
 * Shows what an app answered directly in its HTTP response to a slash command (`ack({ text })`, or a plain
 * string), as Slack does: ephemeral to the person, or in the channel with `response_type: 'in_channel'`.
 * Returns false when there was nothing to show.
 */
export function showCommandAck(ws: SlackWorkspace, target: { user: string; channel: string; responseUrlId: string }, body: string): boolean {
  if (body.trim() === '') return false;
  let payload: Record<string, unknown>;
  try {
    const parsed = JSON.parse(body) as unknown;
    payload = isObject(parsed) ? parsed : { text: String(parsed) };
  } catch {
    payload = { text: body };
  }
  let content;
  try {
    content = readMessageContent(payload, { required: true });
  } catch {
    return false;
  }
  const common = {
    channel: target.channel,
    text: content.text ?? '',
    ...(content.blocks !== undefined && { blocks: content.blocks }),
    ...(content.attachments !== undefined && { attachments: content.attachments }),
  };
  if (payload.response_type === 'in_channel') {
    ws.postMessage({ ...common, user: ws.bot.user_id, bot_id: ws.bot.bot_id });
  } else {
    const e = ws.postEphemeral({ ...common, user: target.user, source: 'command_response', bot_id: ws.bot.bot_id });
    const rec = ws.responseUrl(target.responseUrlId);
    if (rec) rec.last_ephemeral_id = e.id;
  }
  return true;
}
