import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log record. Secrets only come from the environment or
 * mounted files and must never reach a log line, even inside a logged config or error.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'token',
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  'headers.authorization',
  '*.headers.authorization',
  'headers.Authorization',
  '*.headers.Authorization',
  '*.*.headers.authorization',
  '*.*.headers.Authorization',
  'botToken',
  'appToken',
  'signingSecret',
  'secretAccessKey',
  '*.*.botToken',
  '*.*.appToken',
  '*.*.signingSecret',
  '*.*.*.password',
  '*.*.*.*.password',
  '*.*.*.secretAccessKey',
  '*.*.*.*.secretAccessKey',
  '*.*.*.*.*.secretAccessKey',
  'stateDatabaseUrl',
  '*.stateDatabaseUrl',
  'redis.url',
  '*.redis.url',
];

/**
 * The root logger; composition roots create it once and pass `child({ runId, step })` loggers down. Paths name
 * where secrets sit in objects; text (a token inside a URL or an error message) is scrubbed by the destination the
 * long-running processes use (`createSecretScrubbingStream`).
 */
export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const opts = {
    name: options.name ?? 'pachbackup',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(opts, options.destination as pino.DestinationStream) : pino(opts);
}
