/**
 * What a format parser hands to the itemizer (createItemizer): one framed record, parsed or not, with where it was.
 * Used by parseNdjson, parseJsonArray, parseCsv and fromAsyncIterable.
 */
export interface ParsedRecord {
  /** The parsed value; absent when `error` is set. */
  readonly value?: unknown;
  /** Why the record could not be parsed (without the location, which createItemizer adds). */
  readonly error?: string;
  /** The original text, kept only for records that failed, so a dead-letter file can keep it. */
  readonly raw?: string;
  /** 1-based line where the record starts. */
  readonly line?: number;
  /** 1-based element number, for formats where it differs from the line (JSON arrays, iterables). */
  readonly record?: number;
  /** Byte offset just after the record (decompressed bytes for `.gz`). */
  readonly offset?: number;
}
