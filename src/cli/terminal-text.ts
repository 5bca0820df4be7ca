import type { KnownBlock } from '@slack/types';
import { DateTime } from 'luxon';
import type { SlackMessage } from '../slack/views/block-kit.js';
import { fallbackDate } from '../slack/views/time-text.js';

/**
 * A Slack message as a terminal shows it, so the CLI twin of a Slack command says exactly what the command says
 * in Slack — the same view built from the same data — without a second wording: headers and sections as lines,
 * fields as "label: value" lines, context lines indented, dividers as blank lines; buttons are left out (they
 * act only in Slack). Mrkdwn is undone: `*bold*` and `_italic_` lose their marks, date tokens become times in
 * `zone` (the CLI user's, by default), mentions `@U123`, links `text (url)`, and `&lt; &gt; &amp;` their
 * characters. Code spans keep their backticks.
 */
export function terminalText(message: SlackMessage, zone: string = DateTime.local().zoneName ?? 'UTC'): string {
  if (message.blocks.length === 0) return plainMrkdwn(message.text, zone);
  const lines: string[] = [];
  for (const block of message.blocks) lines.push(...blockLines(block, zone));
  // No blank line at either end, and never two in a row.
  return lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function blockLines(block: KnownBlock, zone: string): string[] {
  switch (block.type) {
    case 'header':
      return [block.text.text, ''];
    case 'section': {
      const lines: string[] = [];
      if (block.text) lines.push(textOf(block.text, zone));
      for (const field of block.fields ?? []) lines.push(fieldLine(textOf(field, zone)));
      return [...lines, ''];
    }
    case 'context':
      return [block.elements.map((e) => ('text' in e ? textOf(e, zone) : '')).filter(Boolean).map((t) => `  ${t.replace(/\n/g, '\n  ')}`).join('\n')];
    case 'divider':
      return [''];
    default:
      return []; // actions, inputs, images: nothing a terminal can do with them
  }
}

/** "*pachd*\n1/1 ready\n`image`" → "pachd: 1/1 ready, `image`". */
function fieldLine(field: string): string {
  const [label, ...rest] = field.split('\n');
  return rest.length ? `${label}: ${rest.join(', ')}` : (label ?? '');
}

function textOf(element: { type: string; text: string }, zone: string): string {
  return element.type === 'mrkdwn' ? plainMrkdwn(element.text, zone) : element.text;
}

/** Mrkdwn as plain text (see `terminalText`); code spans are kept as they are, backticks included. */
export function plainMrkdwn(text: string, zone: string): string {
  return text
    .split(/(`[^`\n]*`)/)
    .map((part, i) => (i % 2 === 1 ? unescapeEntities(part) : plainProse(part, zone)))
    .join('');
}

function unescapeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function plainProse(text: string, zone: string): string {
  return unescapeEntities(
    text
    .replace(/<!date\^(\d+)\^([^|>]*)(?:\^[^|>]*)?\|[^>]*>/g, (_, unix: string, format: string) =>
      fallbackDate(DateTime.fromSeconds(Number(unix), { zone: 'utc' }).toISO() ?? '', format, zone),
    )
    .replace(/<@([A-Z0-9]+)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<#[A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>/g, (_, name?: string) => name ?? '@group')
    .replace(/<!(here|channel|everyone)>/g, '@$1')
    .replace(/<((?:https?|mailto):[^|>]+)\|([^>]*)>/g, '$2 ($1)')
    .replace(/<((?:https?|mailto):[^>]+)>/g, '$1')
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s.,;:!?)])/gm, '$1$2')
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s.,;:!?)])/gm, '$1$2'),
  );
}
