/**
 * Text that goes into Slack's mrkdwn. Anything that comes from users or clusters (notes, error messages, object,
 * workload and database names, display names) passes through `escapeMrkdwn` — or, inside `code`, `codeSpan` — so
 * `<!channel>` or `<https://evil|click>` in a note shows as typed instead of pinging everyone or turning into a
 * link, and `Prod *EU*` stays one bold name instead of breaking the bold around it.
 */

/** Look-alikes of mrkdwn's formatting characters: shown the same, never read as formatting. */
const INERT = { '*': '\u2217', '~': '\u223c', '`': '\u02cb', _: '\u02cd' } as const;

/**
 * Escapes user- or cluster-supplied text for mrkdwn prose: `&`, `<` and `>` become entities
 * (https://api.slack.com/reference/surfaces/formatting#escaping), so no mention, link or date token can be made;
 * and since mrkdwn has no escape for its formatting characters, `*`, `~` and backticks — and `_` where it could
 * open or close italics (not inside a word, as in `pachyderm_db`) — become look-alikes (∗ ∼ ˋ ˍ) that read the same.
 */
export function escapeMrkdwn(text: string): string {
  return escapeEntities(text)
    .replace(/[*~`]/g, (c) => INERT[c as '*' | '~' | '`'])
    .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, INERT._);
}

/**
 * Only `&`, `<` and `>` as entities: for text inside a code span, where formatting characters are already literal,
 * and for our own mrkdwn that shows placeholders like `<cluster>`.
 */
export function escapeEntities(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * User- or cluster-supplied text as inline code (`` `text` ``), cut to `max` characters: entities escaped, and a
 * backtick — which would end the span — replaced by its look-alike. Formatting characters inside stay as typed
 * (`0 3 * * *` is a cron expression, not bold).
 */
export function codeSpan(text: string, max = 3000): string {
  return `\`${truncateText(escapeEntities(text.replace(/`/g, INERT['`'])), max)}\``;
}

/**
 * One of our own sentences that marks commands and names as code with backticks and may carry user or cluster
 * text elsewhere ("unknown cluster `prod*`; configured clusters: a, b"), as mrkdwn: the code spans keep what they
 * hold as typed (entities escaped), the prose around them is escaped like any user text. A backtick without its
 * pair is prose.
 */
export function markedCode(text: string): string {
  const parts = text.split('`');
  if (parts.length % 2 === 0) return escapeMrkdwn(text);
  return parts.map((part, i) => (i % 2 === 1 ? `\`${escapeEntities(part)}\`` : escapeMrkdwn(part))).join('');
}

/**
 * Cuts `text` to at most `max` characters, ending with "…" when cut. Never leaves half an HTML entity
 * (`&am…`) or half a surrogate pair behind, so escaped text stays escaped and emoji stay whole.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  const lastCode = cut.charCodeAt(cut.length - 1);
  if (lastCode >= 0xd800 && lastCode <= 0xdbff) cut = cut.slice(0, -1);
  cut = cut.replace(/&[a-z]{0,4}$/, '');
  return `${cut}…`;
}

/** Escapes user- or cluster-supplied text for mrkdwn prose and fits it into `max` characters. */
export function escapeAndTruncate(text: string, max: number): string {
  return truncateText(escapeMrkdwn(text), max);
}

/** A count with thousands separators, the same on every machine: 12,034. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `n thing` / `n things`, with the count formatted. */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(n)} ${n === 1 ? singular : pluralForm}`;
}

const SLACK_USER_ID = /^(?:<@([UW][A-Z0-9]{2,})>|(?:slack:)?([UW][A-Z0-9]{2,}))$/;

/**
 * Who asked for something. A Slack user id (`U024BE7LH`, `slack:U024BE7LH` or the mention `<@U024BE7LH>`) becomes a
 * user mention, which
 * Slack shows as the person's current name; anything else (`cli:alice@host`, `pachbackup (recovery)`) is shown
 * as escaped text.
 */
export function formatRequester(requestedBy: string): string {
  const match = SLACK_USER_ID.exec(requestedBy);
  return match ? `<@${match[1] ?? match[2]}>` : escapeMrkdwn(requestedBy);
}

/**
 * Joins already-formatted items with `separator` while they fit in `maxChars`, then says how many were left out:
 * "`a` ×2, `b` ×1 and 40 more". Keeps long lists (hundreds of pipelines) readable and within Slack's limits.
 */
export function joinWithin(items: string[], maxChars: number, separator = ', '): string {
  const shown: string[] = [];
  let length = 0;
  for (const [i, item] of items.entries()) {
    const rest = items.length - i;
    const tail = rest > 1 ? ` and ${rest - 1} more`.length : 0;
    const added = (shown.length === 0 ? 0 : separator.length) + item.length;
    if (length + added + tail > maxChars) {
      return shown.length === 0 ? `${formatCount(items.length)} items` : `${shown.join(separator)} and ${formatCount(rest)} more`;
    }
    shown.push(item);
    length += added;
  }
  return shown.join(separator);
}
