import { ACTION_IDS } from '../../../src/slack/slack-ids.js';

/**
 * Checks rendered Block Kit against what Slack accepts (https://api.slack.com/reference/block-kit/blocks), the
 * way Slack would reject it: known block types, text objects of type mrkdwn or plain_text, the size limits, and
 * action ids that exist in ACTION_IDS. Returns the problems found (none means valid).
 */
export function blockKitProblems(message: { text?: string; blocks: unknown[] }, maxBlocks = 50): string[] {
  const problems: string[] = [];
  const actionIds = new Set<string>(Object.values(ACTION_IDS));
  if (message.text !== undefined && (message.text.trim() === '' || message.text.length > 3000)) problems.push(`top-level text empty or longer than 3000 (${message.text.length})`);
  if (message.blocks.length > maxBlocks) problems.push(`${message.blocks.length} blocks (limit ${maxBlocks})`);
  const blockText = allText({ blocks: message.blocks }).reduce((n, t) => n + t.length, 0);
  if (blockText > 12_000) problems.push(`${blockText} characters of block text (Slack answers msg_blocks_too_long past about 12,000)`);

  const textObject = (where: string, t: unknown, max = 3000, plainOnly = false): void => {
    const o = t as { type?: unknown; text?: unknown };
    if (typeof o !== 'object' || o === null) return void problems.push(`${where}: not a text object`);
    if (o.type !== 'mrkdwn' && o.type !== 'plain_text') problems.push(`${where}: text type ${String(o.type)}`);
    if (plainOnly && o.type !== 'plain_text') problems.push(`${where}: must be plain_text`);
    if (typeof o.text !== 'string' || o.text.length === 0) problems.push(`${where}: empty text`);
    else if (o.text.length > max) problems.push(`${where}: ${o.text.length} chars (limit ${max})`);
  };

  message.blocks.forEach((raw, i) => {
    const block = raw as Record<string, unknown>;
    const where = `block ${i} (${String(block.type)})`;
    switch (block.type) {
      case 'header':
        textObject(where, block.text, 150, true);
        break;
      case 'divider':
        break;
      case 'section': {
        const fields = block.fields as unknown[] | undefined;
        if (block.text === undefined && fields === undefined) problems.push(`${where}: neither text nor fields`);
        if (block.text !== undefined) textObject(where, block.text);
        if (fields !== undefined) {
          if (fields.length > 10) problems.push(`${where}: ${fields.length} fields`);
          fields.forEach((f, j) => textObject(`${where} field ${j}`, f, 2000));
        }
        break;
      }
      case 'context': {
        const elements = block.elements as unknown[];
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) problems.push(`${where}: ${elements?.length} elements`);
        elements.forEach((e, j) => textObject(`${where} element ${j}`, e));
        break;
      }
      case 'actions': {
        const elements = block.elements as Record<string, unknown>[];
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) problems.push(`${where}: ${elements?.length} elements`);
        elements.forEach((e, j) => {
          const w = `${where} element ${j}`;
          if (e.type !== 'button') problems.push(`${w}: type ${String(e.type)}`);
          if (typeof e.action_id !== 'string' || !actionIds.has(e.action_id)) problems.push(`${w}: action_id ${String(e.action_id)} is not in ACTION_IDS`);
          textObject(w, e.text, 75, true);
          if (typeof e.value !== 'string' || e.value.length === 0 || e.value.length > 2000) problems.push(`${w}: value`);
          if (e.url !== undefined) problems.push(`${w}: a link button`);
          if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') problems.push(`${w}: style ${String(e.style)}`);
          if (e.confirm !== undefined) {
            const c = e.confirm as Record<string, unknown>;
            textObject(`${w} confirm title`, c.title, 100, true);
            textObject(`${w} confirm text`, c.text, 300);
            textObject(`${w} confirm button`, c.confirm, 30, true);
            textObject(`${w} deny button`, c.deny, 30, true);
          }
        });
        break;
      }
      default:
        problems.push(`${where}: unknown block type`);
    }
  });
  return problems;
}

/** Every action_id in the blocks. */
export function actionIdsOf(blocks: unknown[]): string[] {
  return blocks.flatMap((b) => {
    const block = b as { type?: string; elements?: { action_id?: string }[] };
    return block.type === 'actions' ? (block.elements ?? []).flatMap((e) => (e.action_id ? [e.action_id] : [])) : [];
  });
}

/** Every piece of text in a message (top-level text and all text objects), for content assertions. */
export function allText(message: { text?: string; blocks: unknown[] }): string[] {
  const texts: string[] = message.text !== undefined ? [message.text] : [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') texts.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(message.blocks);
  return texts;
}

/** The mrkdwn text objects only (where Slack would parse mentions and links). */
export function mrkdwnTexts(message: { text?: string; blocks: unknown[] }): string[] {
  const texts: string[] = message.text !== undefined ? [message.text] : [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') texts.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(message.blocks);
  return texts;
}
