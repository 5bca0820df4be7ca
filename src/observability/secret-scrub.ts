import { Writable } from 'node:stream';

/**
 * The last line of defence behind pino's path redaction (`REDACTED_PATHS` in log.ts), which only knows field
 * names: secrets that travel inside text — a password in a connection string, a Slack token in a URL or an
 * error message, a presigned S3 URL — are cut out of every serialized log line before it is written.
 */
const PATTERNS: readonly [RegExp, string][] = [
  // scheme://user:password@host — PostgreSQL and Redis URLs (stateDatabase.url, redis.url).
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"'\\]+@/gi, '$1[redacted]@'],
  // Slack bot, user, refresh and app-level tokens (https://api.slack.com/authentication/token-types).
  [/\bxox[abpoesr]-[A-Za-z0-9-]+/g, 'xox?-[redacted]'],
  [/\bxapp-[A-Za-z0-9-]+/g, 'xapp-[redacted]'],
  // Authorization header values.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/g, '$1 [redacted]'],
  // Credentials in query strings, including presigned S3 URLs.
  [/([?&](?:token|access_token|password|secret|client_secret|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s"'\\]+/gi, '$1[redacted]'],
];

/** `text` with every credential-looking substring replaced by `[redacted]`. */
export function scrubSecrets(text: string): string {
  let scrubbed = text;
  for (const [pattern, replacement] of PATTERNS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}

/**
 * A destination for `createLogger({ destination })` that scrubs each line (pino writes one JSON line per
 * write) and passes it on to `target` (default stdout), honouring its back-pressure.
 */
export function createSecretScrubbingStream(target: NodeJS.WritableStream = process.stdout): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      const ok = target.write(scrubSecrets(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
      if (ok) callback();
      else target.once('drain', () => callback());
    },
  });
}
