import { describe, expect, it } from 'vitest';
import { LIMITS, listSections } from '../../../src/slack/views/block-kit.js';
import { compareToEstimate, describeEstimate, describeEstimatePrecise, formatEstimateRange, formatEstimateSeconds } from '../../../src/slack/views/downtime-text.js';
import { escapeMrkdwn, formatRequester, joinWithin, truncateText } from '../../../src/slack/views/mrkdwn.js';
import { formatAge } from '../../../src/slack/views/time-text.js';

describe('mrkdwn text', () => {
  it('escapes what could make mentions, links or date tokens', () => {
    expect(escapeMrkdwn('<!channel> <https://evil|click> & <@U1> <!date^1^{time}|x>')).toBe(
      '&lt;!channel&gt; &lt;https://evil|click&gt; &amp; &lt;@U1&gt; &lt;!date^1^{time}|x&gt;',
    );
  });

  it('cuts long text without leaving half an entity or half an emoji', () => {
    expect(truncateText(escapeMrkdwn('ab<cd'), 5)).toBe('ab…');
    expect(truncateText('abc😀def', 5)).toBe('abc…');
    expect(truncateText('short', 10)).toBe('short');
  });

  it('shows Slack users as mentions and anyone else as text', () => {
    expect(formatRequester('U024BE7LH')).toBe('<@U024BE7LH>');
    expect(formatRequester('<@U024BE7LH>')).toBe('<@U024BE7LH>');
    expect(formatRequester('slack:W01')).toBe('<@W01>');
    expect(formatRequester('cli:alice@ops-1')).toBe('cli:alice@ops-1');
    expect(formatRequester('<!channel>')).toBe('&lt;!channel&gt;');
  });

  it('shortens long lists with a count of the rest', () => {
    expect(joinWithin(['a', 'b', 'c'], 100)).toBe('a, b, c');
    expect(joinWithin(['aaaa', 'bbbb', 'cccc', 'dddd'], 21)).toBe('aaaa, bbbb and 2 more');
    expect(joinWithin(['aaaa', 'bbbb', 'cccc', 'dddd'], 20)).toBe('aaaa and 3 more');
  });

  it('packs lines into sections within the limits and counts what did not fit', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `${i} ${'x'.repeat(400)}`);
    const sections = listSections(lines, 3, 'more lines');
    expect(sections).toHaveLength(3);
    for (const s of sections) expect(s.text!.text.length).toBeLessThanOrEqual(LIMITS.textChars);
    const shown = sections.flatMap((s) => s.text!.text.split('\n')).filter((l) => /^\d+ x/.test(l)).length;
    expect(sections[2]!.text!.text).toContain(`_…and ${100 - shown} more lines_`);
  });
});

describe('downtime text', () => {
  it('rounds estimates the way people talk', () => {
    expect(formatEstimateSeconds(45)).toBe('45 s');
    expect(formatEstimateSeconds(240)).toBe('4 min');
    expect(formatEstimateSeconds(4800)).toBe('1 h 20 min');
    expect(formatEstimateRange(180, 300)).toBe('3–5 min');
    expect(formatEstimateRange(40, 150)).toBe('40 s–3 min');
    expect(formatEstimateRange(20, 40)).toBe('20–40 s');
    expect(describeEstimate({ expectedSeconds: 240, lowSeconds: 235, highSeconds: 250 })).toBe('about 4 min');
  });

  it('compares a real downtime with its range', () => {
    expect(compareToEstimate(192, { expectedSeconds: 240, lowSeconds: 180, highSeconds: 300 })).toEqual({ withinRange: true, errorPercent: -20, verdict: 'within the estimated range' });
    expect(compareToEstimate(420, { expectedSeconds: 240, lowSeconds: 180, highSeconds: 300 }).verdict).toBe('2 min longer than the range');
    expect(compareToEstimate(231, { expectedSeconds: 200, lowSeconds: 150, highSeconds: 220 }).verdict).toBe('11 s longer than the range');
    expect(describeEstimatePrecise({ expectedSeconds: 200, lowSeconds: 150, highSeconds: 220 })).toBe('3 min 20 s (2 min 30 s–3 min 40 s)');
  });

  it('words ages', () => {
    const now = '2026-11-24T09:30:00Z';
    expect(formatAge('2026-11-24T09:29:40Z', now)).toBe('just now');
    expect(formatAge('2026-11-24T09:00:00Z', now)).toBe('30 min ago');
    expect(formatAge('2026-11-24T07:30:00Z', now)).toBe('2 h ago');
    expect(formatAge('2026-11-23T07:30:00Z', now)).toBe('1 day 2 h ago');
    expect(formatAge('2026-11-20T07:30:00Z', now)).toBe('4 days ago');
  });
});
