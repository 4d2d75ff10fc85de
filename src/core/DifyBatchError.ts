import { hasBrand } from '../internal/hasBrand.js';
// A type-only import: the summary is data the pipeline attaches, core does not depend on the pipeline.
import type { RunSummary } from '../pipeline/RunSummary.js';

/**
 * Stable error codes. Match on `error.code`, never on the message text.
 *
 * - Fatal (end a run): `ERR_INVALID_OPTION`, `ERR_ABORTED`, `ERR_SOURCE_READ`, `ERR_SOURCE_COMMIT`,
 *   `ERR_CHECKPOINT`, `ERR_SINK_WRITE`, and what no retry can fix: `ERR_DIFY_AUTH` (401/403: the key
 *   or app is refused), `ERR_DIFY_ROUTE` (a 404 from a route that does not exist: the base URL
 *   probably lacks `/v1`), `ERR_DIFY_UNREACHABLE` (Dify down for longer than the run's `maxOutageMs`).
 * - Per item (become `ok: false` results): every other code.
 */
export type ErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_ABORTED'
  | 'ERR_SOURCE_READ'
  | 'ERR_SOURCE_COMMIT'
  | 'ERR_CHECKPOINT'
  | 'ERR_SINK_WRITE'
  | 'ERR_SOURCE_PARSE'
  | 'ERR_INPUT_INVALID'
  | 'ERR_DIFY_HTTP'
  | 'ERR_DIFY_RATE_LIMITED'
  | 'ERR_DIFY_NETWORK'
  | 'ERR_DIFY_TIMEOUT'
  | 'ERR_DIFY_STREAM'
  | 'ERR_DIFY_BAD_RESPONSE'
  | 'ERR_DIFY_RUN_FAILED'
  | 'ERR_DIFY_AUTH'
  | 'ERR_DIFY_ROUTE'
  | 'ERR_DIFY_UNREACHABLE'
  | 'ERR_INTERNAL';

const kDifyBatchError = Symbol.for('dify-batch.DifyBatchError');

/** Context every error may carry; all of it is JSON-serialisable and free of secrets. */
export interface DifyBatchErrorOptions {
  readonly retryable?: boolean;
  readonly cause?: unknown;
  /** How far a run got before this error ended it (set by `runBatch` on every rejection after it started). */
  readonly summary?: RunSummary;
}

/**
 * The base of every error dify-batch throws or records.
 *
 * @remarks
 * `instanceof` works across duplicate installs: each class has its own `Symbol.for('dify-batch.<Class>')`
 * brand, as undici does, so `instanceof` tells {@link DifyApiError}, {@link InvalidOptionError} and a
 * plain `DifyBatchError` apart, while every subclass instance is still `instanceof DifyBatchError`.
 * Classes you derive yourself get the ordinary prototype check. Prefer matching on `code`.
 * `toJSON()` gives the plain record that result sinks write.
 * @category errors
 */
export class DifyBatchError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** How far the run got, when this error ended a `runBatch` (records read, written, failed, …). */
  declare readonly summary?: RunSummary;

  constructor(code: ErrorCode, message: string, options: DifyBatchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DifyBatchError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    // Not enumerable: a summary is context for the caller, not part of the error record sinks write.
    if (options.summary !== undefined) {
      Object.defineProperty(this, 'summary', { value: options.summary, configurable: true });
    }
  }

  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` names, a subclass included.
    return hasBrand(this, DifyBatchError, kDifyBatchError, instance);
  }

  /** Inherited by every subclass instance, so they all pass the base class's brand check. */
  get [kDifyBatchError](): true {
    return true;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
  }
}
