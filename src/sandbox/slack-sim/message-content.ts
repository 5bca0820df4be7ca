import type { Block, ViewContent } from './workspace.js';

/**
 * Reading and checking what an app sends as a message (text, blocks, attachments) or a view, with Slack's
 * rules and error codes, shared by the Web API methods and the response-URL endpoint. The block checks are
 * the ones Slack enforces and apps trip over (unknown types, empty texts, too many blocks or elements,
 * duplicate block ids, over-long texts); Slack's full schema is not reproduced.
 */

/** A Slack error code plus the `[ERROR] ...` lines Slack puts in `response_metadata.messages`. */
export class SlackApiError extends Error {
  readonly error: string;
  readonly messages: string[];
  constructor(error: string, messages: string[] = []) {
    super(messages.length ? `${error}: ${messages.join('; ')}` : error);
    this.name = 'SlackApiError';
    this.error = error;
    this.messages = messages;
  }
}

/** The content of a message after validation. */
export interface MessageContent {
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
}

/** Slack's limits, from its Block Kit and chat.postMessage reference. */
export const LIMITS = {
  messageTextChars: 40_000,
  messageBlocks: 50,
  viewBlocks: 100,
  sectionTextChars: 3000,
  sectionFields: 10,
  fieldTextChars: 2000,
  headerTextChars: 150,
  actionsElements: 25,
  contextElements: 10,
  buttonTextChars: 75,
  blockIdChars: 255,
  modalTitleChars: 24,
} as const;

const BLOCK_TYPES = new Set([
  'actions',
  'context',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'video',
  'call',
  'table',
]);

/**
 * Parses a field that @slack/web-api sends JSON-encoded in a form body (or as-is in a JSON body).
 * Throws `SlackApiError(error)` when it is not valid JSON.
 */
export function decodeJsonField(value: unknown, error: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new SlackApiError(error, [`[ERROR] failed to parse JSON for this argument`]);
  }
}

/**
 * Reads `text`, `blocks` and `attachments` from API arguments. With `required`, a message with none of them is
 * `no_text`. Absent fields stay absent (chat.update keeps what it is not given).
 */
export function readMessageContent(args: Record<string, unknown>, options: { required: boolean; maxBlocks?: number }): Partial<MessageContent> {
  const content: Partial<MessageContent> = {};
  if (args.text !== undefined && args.text !== null) {
    const text = String(args.text);
    if (text.length > LIMITS.messageTextChars) throw new SlackApiError('msg_too_long');
    content.text = text;
  }
  if (args.blocks !== undefined && args.blocks !== null && args.blocks !== '') {
    content.blocks = checkBlocks(decodeJsonField(args.blocks, 'invalid_blocks'), options.maxBlocks ?? LIMITS.messageBlocks, 'invalid_blocks');
  }
  if (args.attachments !== undefined && args.attachments !== null && args.attachments !== '') {
    const attachments = decodeJsonField(args.attachments, 'invalid_attachments');
    if (!Array.isArray(attachments) || attachments.some((a) => !isObject(a))) {
      throw new SlackApiError('invalid_attachments', ['[ERROR] attachments must be an array of objects']);
    }
    content.attachments = attachments;
  }
  if (options.required) {
    const hasText = (content.text ?? '').trim() !== '';
    const hasBlocks = (content.blocks?.length ?? 0) > 0;
    const hasAttachments = (content.attachments?.length ?? 0) > 0;
    if (!hasText && !hasBlocks && !hasAttachments) throw new SlackApiError('no_text');
  }
  return content;
}

/** Checks a blocks array against Slack's rules; throws `SlackApiError(error)` listing every problem found. */
export function checkBlocks(value: unknown, maxBlocks: number, error: string): Block[] {
  const problems: string[] = [];
  const fail = (message: string, pointer: string): void => {
    problems.push(`[ERROR] ${message} [json-pointer:${pointer}]`);
  };
  if (!Array.isArray(value)) {
    throw new SlackApiError(error, ['[ERROR] must be an array [json-pointer:/blocks]']);
  }
  if (value.length > maxBlocks) fail(`no more than ${maxBlocks} items allowed`, '/blocks');
  const blockIds = new Set<string>();
  value.forEach((block: unknown, i) => {
    const at = `/blocks/${i}`;
    if (!isObject(block) || typeof block.type !== 'string') return fail('must be an object with a type', at);
    if (!BLOCK_TYPES.has(block.type)) return fail(`unsupported type: ${block.type}`, `${at}/type`);
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length === 0 || block.block_id.length > LIMITS.blockIdChars) {
        fail(`block_id must be a string of 1 to ${LIMITS.blockIdChars} characters`, `${at}/block_id`);
      } else if (blockIds.has(block.block_id)) {
        fail(`duplicate block_id: ${block.block_id}`, `${at}/block_id`);
      } else blockIds.add(block.block_id);
    }
    checkBlock(block, at, fail);
  });
  if (problems.length) throw new SlackApiError(error, problems);
  return value as Block[];
}

function checkBlock(block: Record<string, unknown>, at: string, fail: (message: string, pointer: string) => void): void {
  switch (block.type) {
    case 'section': {
      if (block.text === undefined && block.fields === undefined) fail('must provide text or fields', at);
      if (block.text !== undefined) checkText(block.text, `${at}/text`, LIMITS.sectionTextChars, fail);
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > LIMITS.sectionFields) {
          fail(`fields must be an array of 1 to ${LIMITS.sectionFields} text objects`, `${at}/fields`);
        } else block.fields.forEach((f: unknown, j) => checkText(f, `${at}/fields/${j}`, LIMITS.fieldTextChars, fail));
      }
      if (block.accessory !== undefined) checkElement(block.accessory, `${at}/accessory`, fail);
      return;
    }
    case 'header':
      checkText(block.text, `${at}/text`, LIMITS.headerTextChars, fail, 'plain_text');
      return;
    case 'actions':
      if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > LIMITS.actionsElements) {
        return fail(`elements must be an array of 1 to ${LIMITS.actionsElements} elements`, `${at}/elements`);
      }
      checkUniqueActionIds(block.elements, at, fail);
      block.elements.forEach((e: unknown, j) => checkElement(e, `${at}/elements/${j}`, fail));
      return;
    case 'context':
      if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > LIMITS.contextElements) {
        fail(`elements must be an array of 1 to ${LIMITS.contextElements} elements`, `${at}/elements`);
      }
      return;
    case 'image':
      if (typeof block.alt_text !== 'string' || block.alt_text === '') fail('alt_text is required', `${at}/alt_text`);
      if (block.image_url === undefined && block.slack_file === undefined) fail('image_url or slack_file is required', at);
      return;
    case 'input':
      checkText(block.label, `${at}/label`, 2000, fail, 'plain_text');
      if (!isObject(block.element)) fail('element is required', `${at}/element`);
      return;
    default:
      return;
  }
}

function checkUniqueActionIds(elements: unknown[], at: string, fail: (message: string, pointer: string) => void): void {
  const seen = new Set<string>();
  elements.forEach((e, j) => {
    if (isObject(e) && typeof e.action_id === 'string') {
      if (seen.has(e.action_id)) fail(`duplicate action_id: ${e.action_id}`, `${at}/elements/${j}/action_id`);
      seen.add(e.action_id);
    }
  });
}

function checkElement(element: unknown, at: string, fail: (message: string, pointer: string) => void): void {
  if (!isObject(element) || typeof element.type !== 'string') return fail('must be an element object with a type', at);
  if (element.action_id !== undefined && (typeof element.action_id !== 'string' || element.action_id.length > 255)) {
    fail('action_id must be a string of at most 255 characters', `${at}/action_id`);
  }
  if (element.type === 'button') {
    checkText(element.text, `${at}/text`, LIMITS.buttonTextChars, fail, 'plain_text');
    if (element.value !== undefined && (typeof element.value !== 'string' || element.value.length > 2000)) {
      fail('value must be a string of at most 2000 characters', `${at}/value`);
    }
    if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
      fail('style must be primary or danger', `${at}/style`);
    }
  }
}

function checkText(
  text: unknown,
  at: string,
  maxChars: number,
  fail: (message: string, pointer: string) => void,
  onlyType?: 'plain_text',
): void {
  if (!isObject(text)) return fail('must be a text object', at);
  if (text.type !== 'plain_text' && text.type !== 'mrkdwn') return fail('type must be plain_text or mrkdwn', `${at}/type`);
  if (onlyType && text.type !== onlyType) return fail(`type must be ${onlyType}`, `${at}/type`);
  if (typeof text.text !== 'string' || text.text.length === 0) return fail('text must be more than 0 characters', `${at}/text`);
  if (text.text.length > maxChars) fail(`must be less than ${maxChars + 1} characters`, `${at}/text`);
}

/**
 * Checks a view (`type` modal or home) given to views.open/update/push/publish; problems are `invalid_arguments`,
 * as Slack answers them.
 */
export function checkView(value: unknown, allowed: 'modal' | 'home'): ViewContent & { type: 'modal' | 'home'; blocks: Block[] } {
  const view = decodeJsonField(value, 'invalid_arguments');
  if (!isObject(view)) throw new SlackApiError('invalid_arguments', ['[ERROR] view must be an object [json-pointer:/view]']);
  if (view.type !== allowed) {
    throw new SlackApiError('invalid_arguments', [`[ERROR] type must be ${allowed} [json-pointer:/view/type]`]);
  }
  const problems: string[] = [];
  if (allowed === 'modal') {
    const title = view.title;
    if (!isObject(title) || title.type !== 'plain_text' || typeof title.text !== 'string' || title.text === '') {
      problems.push('[ERROR] title is required (plain_text) [json-pointer:/view/title]');
    } else if (title.text.length > LIMITS.modalTitleChars) {
      problems.push(`[ERROR] must be less than ${LIMITS.modalTitleChars + 1} characters [json-pointer:/view/title/text]`);
    }
  }
  let blocks: Block[] = [];
  try {
    blocks = checkBlocks(view.blocks ?? [], LIMITS.viewBlocks, 'invalid_arguments');
  } catch (err) {
    if (err instanceof SlackApiError) problems.push(...err.messages.map((m) => m.replace('[json-pointer:/blocks', '[json-pointer:/view/blocks')));
    else throw err;
  }
  if (allowed === 'modal' && blocks.some((b) => b.type === 'input') && view.submit === undefined) {
    problems.push('[ERROR] submit is required when a modal has input blocks [json-pointer:/view/submit]');
  }
  if (problems.length) throw new SlackApiError('invalid_arguments', problems);
  const out: ViewContent & { type: 'modal' | 'home'; blocks: Block[] } = { type: allowed, blocks };
  if (view.title !== undefined) out.title = view.title;
  if (view.submit !== undefined) out.submit = view.submit;
  if (view.close !== undefined) out.close = view.close;
  if (typeof view.callback_id === 'string') out.callback_id = view.callback_id;
  if (typeof view.private_metadata === 'string') out.private_metadata = view.private_metadata;
  if (typeof view.external_id === 'string') out.external_id = view.external_id;
  if (typeof view.notify_on_close === 'boolean') out.notify_on_close = view.notify_on_close;
  if (typeof view.clear_on_close === 'boolean') out.clear_on_close = view.clear_on_close;
  return out;
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
