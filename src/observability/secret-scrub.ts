import { Writable } from 'node:stream';
import { scrubSecretText } from '../secrets/redact-secrets.js';

/**
 * The last line of defence behind the structural redaction of logged objects (`createLogger`): a destination
 * that scrubs each line (pino writes one JSON line per write) of secrets that travel inside text — a password in a
 * connection string, a Slack token in a URL or an error message, a presigned S3 URL — and passes it on to `target`
 * (default stdout), honouring its back-pressure. What counts as a secret is decided in `src/secrets/redact-secrets.ts`.
 */
export function createSecretScrubbingStream(target: NodeJS.WritableStream = process.stdout): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      const ok = target.write(scrubSecretText(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
      if (ok) callback();
      else target.once('drain', () => callback());
    },
  });
}
