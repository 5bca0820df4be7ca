import { DateTime } from 'luxon';
import { escapeMrkdwn } from './mrkdwn.js';

/**
 * Times in Slack messages. Every absolute time is a Slack date token, so each reader sees it in their own time
 * zone; the token's fallback (shown by clients that cannot render it, and in some notifications) is made with
 * luxon in a zone the caller picks.
 */

/** "Nov 24, 2026 at 3:00 AM" in the reader's zone (Slack writes "Today"/"Yesterday"/"Tomorrow" where it fits). */
export const SLACK_DATE_TIME = '{date_short_pretty} at {time}';
/** Just the reader's local time: "3:14 AM". */
export const SLACK_TIME = '{time}';

/**
 * A Slack date token for `iso`: `<!date^UNIX^FORMAT|FALLBACK>`
 * (https://api.slack.com/reference/surfaces/formatting#date-formatting).
 * `format` uses Slack's tokens (`{date_short_pretty}`, `{time}`, …); the fallback is luxon's rendering of the
 * same instant in `zone` (an IANA zone), e.g. "Tue 24 Nov 03:00 UTC", with only the parts `format` asks for.
 * An unparseable `iso` is shown as escaped text rather than failing the whole message.
 */
export function slackDate(iso: string, format: string, zone: string): string {
  const instant = DateTime.fromISO(iso, { zone: 'utc' });
  if (!instant.isValid) return escapeMrkdwn(iso);
  const unix = Math.floor(instant.toSeconds());
  return `<!date^${unix}^${format}|${fallbackDate(iso, format, zone)}>`;
}

/**
 * The plain-text rendering of `iso` in `zone` that a date token falls back to: date and time
 * ("Tue 24 Nov 03:00 UTC"), time only ("03:00 UTC") or date only ("Tue 24 Nov 2026"), following what `format` shows.
 */
export function fallbackDate(iso: string, format: string, zone: string): string {
  let instant = DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).setLocale('en-US');
  if (!instant.isValid) instant = DateTime.fromISO(iso, { zone: 'utc' }).setLocale('en-US'); // unknown zone: UTC
  if (!instant.isValid) return iso;
  const hasDate = /\{(date|day_divider|ago)/.test(format);
  const hasTime = /\{(time|ago)/.test(format);
  const seconds = format.includes('{time_secs}') ? ':ss' : '';
  if (hasDate && !hasTime) return instant.toFormat('ccc d LLL yyyy');
  if (hasTime && !hasDate) return instant.toFormat(`HH:mm${seconds} ZZZZ`);
  return instant.toFormat(`ccc d LLL HH:mm${seconds} ZZZZ`);
}

/** How long ago `sinceIso` was, seen from `nowIso`: "just now", "12 min ago", "5 h 3 min ago", "3 days ago". */
export function formatAge(sinceIso: string, nowIso: string): string {
  const since = DateTime.fromISO(sinceIso);
  const now = DateTime.fromISO(nowIso);
  if (!since.isValid || !now.isValid) return 'at an unknown time';
  const minutes = Math.floor(now.diff(since).as('minutes'));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h ago` : `${hours} h ${minutes % 60} min ago`;
  const days = Math.floor(hours / 24);
  return days === 1 ? `1 day ${hours % 24} h ago` : `${days} days ago`;
}

/** Adds seconds to an ISO time, for expected ends. */
export function addSeconds(iso: string, seconds: number): string {
  const instant = DateTime.fromISO(iso, { zone: 'utc' });
  return instant.isValid ? (instant.plus({ milliseconds: Math.round(seconds * 1000) }).toISO() ?? iso) : iso;
}
