import type { ItemResult } from '../core/ItemResult.js';

/**
 * How a run ended, told to {@link ResultSink.close}.
 * @category sinks
 */
export interface SinkCloseOptions {
  /**
   * The run ended with a fatal error. The sink still finishes what it wrote (a JSON array's `]`,
   * a flush), but a file sink that was never written to creates or truncates nothing, so an existing
   * file stays byte-for-byte untouched.
   * @defaultValue false
   */
  readonly failed?: boolean;
}

/**
 * Where results go. The pipeline calls `write` once per batch and `close` once at the end.
 *
 * @remarks
 * `write` resolves only when the batch has been accepted downstream (a stream's write callback and,
 * when `write()` returned false, its `'drain'`; a Kafka produce ack). That promise is what returns
 * credits to the source, so a slow sink slows reading instead of growing a buffer.
 * Writes are applied in call order. A failure is fatal: the promise rejects with ERR_SINK_WRITE and
 * every later call rejects with the same error.
 * @category sinks
 */
export interface ResultSink<T = ItemResult> {
  /** Writes one batch; resolves once downstream has accepted it. */
  write(batch: readonly T[]): Promise<void>;
  /**
   * Writes any trailer (`]` of a JSON array), flushes, and ends what the sink owns. Idempotent.
   * `runBatch` passes `{ failed: true }` when the run ended with a fatal error.
   */
  close(options?: Readonly<SinkCloseOptions>): Promise<void>;
}
