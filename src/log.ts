import { pino, type Logger } from 'pino';
import { createSecretScrubbingStream } from './observability/secret-scrub.js';
import { redactSecrets } from './secrets/redact-secrets.js';

export type { Logger };

/**
 * The root logger; composition roots create it once and pass `child({ runId, step })` loggers down. Secrets never
 * reach a line: every logged object (and every child's bindings) goes through `redactSecrets` — values filed under
 * secret names at any depth, `{ name, value }` pairs of secret names, secret shapes in strings — and the written
 * text through the secret-scrubbing stream, which catches what only shows as text (an error message holding a URL
 * with its password). `destination` defaults to stdout.
 */
export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const opts = {
    name: options.name ?? 'pachbackup',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    formatters: {
      log: (object: Record<string, unknown>) => redactSecrets(object),
      bindings: (bindings: Record<string, unknown>) => redactSecrets(bindings),
    },
  };
  return pino(opts, createSecretScrubbingStream(options.destination ?? process.stdout) as pino.DestinationStream);
}
