import { describe, expect, it } from 'vitest';
import { plainMrkdwn, terminalText } from '../../src/cli/terminal-text.js';

describe('Slack messages as a terminal shows them', () => {
  it('drops mrkdwn marks but keeps code spans as written, with their characters unescaped', () => {
    expect(plainMrkdwn('*Pachyderm &lt;EU&gt;* runs `0 3 * * *` in _Europe/Berlin_ &amp; `a &lt; b`', 'UTC')).toBe('Pachyderm <EU> runs `0 3 * * *` in Europe/Berlin & `a < b`');
  });

  it('shows date tokens in the reader\'s zone, mentions and links as text', () => {
    const at = Date.UTC(2026, 11, 4, 2, 0) / 1000;
    expect(plainMrkdwn(`<!date^${at}^{time}|02:00 UTC> by <@U0OPS1> <https://example.com|docs>`, 'Europe/Berlin')).toBe('03:00 GMT+1 by @U0OPS1 docs (https://example.com)');
  });

  it('lays blocks out as lines: header, fields as "label: value", context indented, no buttons', () => {
    const text = terminalText({
      text: 'fallback',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Status' } },
        { type: 'section', text: { type: 'mrkdwn', text: '*test* is up' }, fields: [{ type: 'mrkdwn', text: '*pachd*\n1/1 ready' }] },
        { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Cancel' }, action_id: 'x' }] },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'a note' }] },
      ],
    });
    expect(text).toBe('Status\n\ntest is up\npachd: 1/1 ready\n\n  a note');
  });
});
