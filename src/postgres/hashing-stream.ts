import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** How often, at most, a HashingStream reports the bytes that went through it. */
export const PROGRESS_INTERVAL_MS = 250;

/** How many leading bytes a HashingStream keeps for `head()`. */
export const HEAD_LENGTH = 16;

/**
 * A pass-through stream that counts and sha256-hashes what flows through it, reporting the count at most every
 * `PROGRESS_INTERVAL_MS` (and once at the end). `beforeEnd`, when given, runs before the stream signals its end
 * to the reader; if it throws, the reader sees an error instead of a clean end — that is how a dump is kept from
 * looking complete before pg_dump's exit status is known.
 */
export class HashingStream extends Transform {
  /** Bytes that have gone through so far. */
  bytes = 0;
  private headBytes: Buffer = Buffer.alloc(0);
  private readonly hash: Hash = createHash('sha256');
  private hex: string | undefined;
  private lastReport = 0;
  private readonly onBytes: ((bytes: number) => void) | undefined;
  private readonly beforeEnd: (() => Promise<void>) | undefined;

  constructor(options: { onBytes?: (bytes: number) => void; beforeEnd?: () => Promise<void> } = {}) {
    super();
    this.onBytes = options.onBytes;
    this.beforeEnd = options.beforeEnd;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.headBytes.length < HEAD_LENGTH) this.headBytes = Buffer.concat([this.headBytes, chunk.subarray(0, HEAD_LENGTH - this.headBytes.length)]);
    const now = Date.now();
    if (this.onBytes && now - this.lastReport >= PROGRESS_INTERVAL_MS) {
      this.lastReport = now;
      this.onBytes(this.bytes);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const finish = (): void => {
      this.hex = this.hash.digest('hex');
      this.onBytes?.(this.bytes);
      callback();
    };
    if (!this.beforeEnd) return finish();
    this.beforeEnd().then(finish, (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
  }

  /** The first bytes that went through (up to `HEAD_LENGTH`), e.g. to check a file's magic number. */
  head(): Buffer {
    return this.headBytes;
  }

  /** The hex sha256 of everything that went through; undefined until the stream has ended cleanly. */
  digest(): string | undefined {
    return this.hex;
  }
}
