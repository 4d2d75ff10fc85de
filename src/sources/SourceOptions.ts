/**
 * Options every source takes.
 * @category sources
 */
export interface SourceOptions {
  /**
   * The record field that holds its id. When set, `item.id` is `String(record[idField])`, and a record
   * without it (missing, `null` or `""`) becomes an `ERR_SOURCE_PARSE` error item.
   * @defaultValue `undefined` (ids are `String(seq)`)
   */
  readonly idField?: string | undefined;
  /**
   * Records to skip from the start, to resume a run. Skipped records are still read and keep their
   * `seq` numbers, so the first item yielded has `seq === skip`.
   * @defaultValue `0`
   */
  readonly skip?: number | undefined;
  /**
   * Stops reading: the underlying stream is destroyed (a file is closed) and the iterator rejects
   * with `signal.reason`.
   * @defaultValue `undefined`
   */
  readonly signal?: AbortSignal | undefined;
}

/** The defaults of {@link SourceOptions}. */
export const SOURCE_DEFAULTS = Object.freeze({ skip: 0 });
