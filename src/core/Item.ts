/**
 * Where a source can resume from: a line and byte offset in a file, or a Kafka partition and offset.
 * Opaque to the pipeline; only the source that made it reads it back.
 */
export interface SourcePosition {
  /** Partition key for watermarking (a file path, `topic:partition`). */
  readonly partition?: string;
  /** 1-based line (or CSV record) number, for error messages. */
  readonly line?: number;
  /** Byte offset just after this record, or a Kafka offset. */
  readonly offset?: number;
}

/**
 * One input record. `seq` is dense and 0-based, assigned by the source in read order.
 * `id` is the record's own id field when configured, else `String(seq)`.
 * @category sources
 */
export interface Item<I = Record<string, unknown>> {
  readonly seq: number;
  readonly id: string;
  readonly inputs: I;
  readonly position?: SourcePosition;
  /**
   * Set by a source when the record could not be parsed or validated: the pipeline turns the item
   * straight into an `ok: false` result with this error instead of calling Dify.
   */
  readonly error?: ErrorRecord;
}

/** The plain, JSON-serialisable form of an error, as result and dead-letter sinks write it. */
export interface ErrorRecord {
  /** Our stable code (`ERR_DIFY_HTTP`, `ERR_SOURCE_PARSE`, …). */
  readonly code: string;
  readonly message: string;
  readonly status?: number;
  /** Dify's own code (`invalid_param`, `too_many_requests`, …) when the server sent one. */
  readonly difyCode?: string;
  readonly retryable: boolean;
}
