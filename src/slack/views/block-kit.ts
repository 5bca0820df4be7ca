import type {
  ActionsBlock,
  Button,
  ConfirmationDialog,
  ContextBlock,
  DividerBlock,
  HeaderBlock,
  KnownBlock,
  MrkdwnElement,
  PlainTextElement,
  SectionBlock,
} from '@slack/types';
import { truncateText } from './mrkdwn.js';

/**
 * The one small renderer the builders share: Block Kit constructors that keep every piece inside Slack's limits
 * (https://api.slack.com/reference/block-kit/blocks), so no builder can produce a message Slack rejects.
 * Text passed here is already mrkdwn (escaped where it came from users or clusters); these only cut it to size.
 */

/** A message as every builder returns it: `text` is the notification and accessibility fallback, always meaningful. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Slack's limits the builders stay within. */
export const LIMITS = {
  blocksPerMessage: 50,
  blocksPerHomeTab: 100,
  /** Section text, context text, top-level text (as we use it). */
  textChars: 3000,
  fieldChars: 2000,
  fieldsPerSection: 10,
  contextElements: 10,
  headerChars: 150,
  buttonTextChars: 75,
  buttonValueChars: 2000,
  confirmTitleChars: 100,
  confirmTextChars: 300,
  confirmButtonChars: 30,
  /**
   * Characters of text in all of a message's blocks together: past about 12,000 Slack refuses the message with
   * `msg_blocks_too_long` (undocumented; slackapi/bolt-js #2509, #2867). Builders of long lists stay under
   * `blockTextBudget`, leaving room for their headers and footers.
   */
  blockTextChars: 12_000,
  blockTextBudget: 10_000,
} as const;

/** How many characters of text `blocks` carry (every text object's text), as Slack counts toward `msg_blocks_too_long`. */
export function blockTextLength(blocks: readonly unknown[]): number {
  let n = 0;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') n += o.text.length;
      else Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  return n;
}

/** A mrkdwn text object, cut to `max` characters. */
export function mrkdwn(text: string, max: number = LIMITS.textChars): MrkdwnElement {
  return { type: 'mrkdwn', text: truncateText(text, max) };
}

/** A plain_text text object (emoji shortcodes rendered), cut to `max` characters. */
export function plainText(text: string, max: number = LIMITS.textChars): PlainTextElement {
  return { type: 'plain_text', text: truncateText(text, max), emoji: true };
}

/** A header block (plain text, at most 150 characters). */
export function header(text: string): HeaderBlock {
  return { type: 'header', text: plainText(text, LIMITS.headerChars) };
}

/** A section of mrkdwn text. */
export function section(text: string): SectionBlock {
  return { type: 'section', text: mrkdwn(text) };
}

/** A section of up to ten two-column fields (mrkdwn), with optional text above them. */
export function fieldsSection(fields: string[], text?: string): SectionBlock {
  const block: SectionBlock = { type: 'section', fields: fields.slice(0, LIMITS.fieldsPerSection).map((f) => mrkdwn(f, LIMITS.fieldChars)) };
  if (text !== undefined) block.text = mrkdwn(text);
  return block;
}

/** A context block: small grey lines of mrkdwn (at most ten). */
export function context(...texts: string[]): ContextBlock {
  return { type: 'context', elements: texts.slice(0, LIMITS.contextElements).map((t) => mrkdwn(t)) };
}

/** A divider. */
export function divider(): DividerBlock {
  return { type: 'divider' };
}

/** An actions block of buttons. */
export function actions(...buttons: Button[]): ActionsBlock {
  return { type: 'actions', elements: buttons };
}

/** A button; `actionId` must be one of ACTION_IDS (slack-ids.ts). */
export function button(options: { actionId: string; text: string; value: string; style?: 'primary' | 'danger'; confirm?: ConfirmationDialog }): Button {
  const b: Button = {
    type: 'button',
    action_id: options.actionId,
    text: plainText(options.text, LIMITS.buttonTextChars),
    value: truncateText(options.value, LIMITS.buttonValueChars),
  };
  if (options.style) b.style = options.style;
  if (options.confirm) b.confirm = options.confirm;
  return b;
}

/** A "are you sure?" dialog Slack shows before sending a button's action. */
export function confirmDialog(options: { title: string; text: string; confirm: string; deny: string; style?: 'primary' | 'danger' }): ConfirmationDialog {
  const dialog: ConfirmationDialog = {
    title: plainText(options.title, LIMITS.confirmTitleChars),
    text: mrkdwn(options.text, LIMITS.confirmTextChars),
    confirm: plainText(options.confirm, LIMITS.confirmButtonChars),
    deny: plainText(options.deny, LIMITS.confirmButtonChars),
  };
  if (options.style) dialog.style = options.style;
  return dialog;
}

/**
 * Packs lines (one mrkdwn line or short paragraph each) into as few sections as fit 3000 characters each, never
 * splitting a line. A line longer than a section is cut. Past `maxBlocks` sections, or past `maxChars` characters
 * in all, the rest is summed up as "…and N <noun>" (noun e.g. "more steps") so a long list can never break the
 * message: whole lines are kept or left out, never cut in the middle.
 */
export function listSections(lines: string[], maxBlocks: number, noun = 'more', maxChars = Number.POSITIVE_INFINITY): SectionBlock[] {
  const limit = LIMITS.textChars;
  const note = (omitted: number) => `_…and ${omitted} ${noun}_`;
  const chunks: string[][] = [];
  let current: string[] = [];
  let length = 0;
  let total = 0;
  let kept = 0;
  const max = Math.max(1, maxBlocks);
  for (const raw of lines) {
    const line = truncateText(raw, limit);
    const added = current.length === 0 ? line.length : length + 1 + line.length;
    const opensSection = current.length > 0 && added > limit;
    // Room for this line, and for the note should a later one not fit.
    const after = total + line.length + 1 + (kept + 1 < lines.length ? note(lines.length).length + 1 : 0);
    if (kept > 0 && (after > maxChars || (opensSection && chunks.length + 1 >= max))) break;
    if (opensSection) {
      chunks.push(current);
      current = [line];
      length = line.length;
    } else {
      current.push(line);
      length = added;
    }
    total += line.length + 1;
    kept++;
  }
  if (current.length > 0) chunks.push(current);
  if (kept < lines.length) {
    const last = chunks[chunks.length - 1]!;
    if (last.length === 1 && last[0]!.length + 1 + note(lines.length - kept).length > limit) last[0] = truncateText(last[0]!, limit - note(lines.length - kept).length - 1);
    while (last.length > 1 && [...last, note(lines.length - kept)].join('\n').length > limit) {
      last.pop();
      kept--;
    }
    last.push(note(lines.length - kept));
  }
  return chunks.map((c) => section(c.join('\n')));
}

/**
 * Keeps a message within `budget` blocks: when `blocks` has more, keeps the first ones and ends with a context
 * line saying how many were left out (`note(n)`).
 */
export function fitBlocks(blocks: KnownBlock[], budget: number, note: (omitted: number) => string): KnownBlock[] {
  if (blocks.length <= budget) return blocks;
  const kept = blocks.slice(0, Math.max(0, budget - 1));
  return [...kept, context(note(blocks.length - kept.length))];
}

/** A message's fallback text, cut to Slack's limit for text we send. */
export function messageText(text: string): string {
  return truncateText(text, LIMITS.textChars);
}
