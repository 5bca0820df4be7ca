/**
 * The one error type pachbackup throws on purpose. `code` says what went wrong in a way code can branch on
 * (never branch on `message`), `retryable` tells job retry policy whether trying again can help, and `hint`
 * says what would be right — shown to the person in Slack or the CLI.
 */
export type ErrorCode =
  | 'config-invalid'
  | 'config-missing'
  | 'usage'
  | 'not-found'
  | 'conflict'
  | 'forbidden'
  | 'precondition'
  | 'unavailable'
  | 'timeout'
  | 'cancelled'
  | 'integrity'
  | 'dependency-missing'
  | 'internal';

export class PachbackupError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PachbackupError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.hint = options.hint;
  }
}

export function isPachbackupError(err: unknown): err is PachbackupError {
  return err instanceof PachbackupError;
}

/** A one-line description of any thrown value, for people (not for branching). */
export function describeError(err: unknown): string {
  if (err instanceof PachbackupError) return err.hint ? `${err.message} — ${err.hint}` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
