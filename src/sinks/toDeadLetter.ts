import type { Item } from '../core/Item.js';
import type { ItemFailure } from '../core/ItemResult.js';
import { checkOption } from '../internal/checkOption.js';
import { formatOfName } from '../sources/internal/formatOf.js';
import type { EncoderSpec } from './internal/createEncoder.js';
import { checkResumeAt, checkSinkFormat, checkSinkPath, openPathSink } from './internal/openPathSink.js';
import type { ResultSink } from './ResultSink.js';
import type { SinkFormat } from './SinkFormat.js';

/**
 * A failed item with its final result: what {@link toDeadLetter} writes.
 * @category sinks
 */
export interface DeadLetterEntry {
  readonly item: Item;
  readonly result: ItemFailure;
}

/**
 * The `_error` key added to each dead-letter record.
 * @category sinks
 */
export interface DeadLetterError {
  readonly seq: number;
  readonly id: string;
  readonly code: string;
  readonly message: string;
  readonly status?: number;
  readonly difyCode?: string;
  readonly attempts: number;
  /** CSV only: the raw text of an unparseable input record (NDJSON/JSON keep it as `_raw`). */
  readonly raw?: string;
  /** CSV only: input fields that are not among the file's columns, so that none is lost. */
  readonly extra?: Record<string, unknown>;
}

/**
 * Options of {@link toDeadLetter}.
 * @category sinks
 */
export interface ToDeadLetterOptions {
  /**
   * How records are framed; use the input's format so the file can be fed back as input.
   * @defaultValue inferred from the extension (`.csv`, `.json`, `.ndjson`/`.jsonl`), else `'ndjson'`
   */
  readonly format?: SinkFormat | undefined;
  /**
   * CSV only: the columns (the input file's header). `_error` is appended.
   * @defaultValue `undefined` (the keys of the first entry's record)
   */
  readonly columns?: readonly string[] | undefined;
  /**
   * Destroys the file stream (closing it) and makes pending and later calls reject with `signal.reason`.
   * @defaultValue `undefined`
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Resume a crashed run: cut the file back to this many bytes (the checkpoint's offset, dropping a
   * torn tail) and append after them, continuing the framing (no second `[` or CSV header).
   * `0` starts the file afresh. Throws (ERR_INVALID_OPTION) when the file is shorter.
   * @defaultValue `undefined` (the file is created or truncated)
   */
  readonly resumeAt?: number | undefined;
}

/** The defaults of {@link ToDeadLetterOptions} that the extension does not decide. */
export const TO_DEAD_LETTER_DEFAULTS = Object.freeze({ format: 'ndjson' as SinkFormat });

/**
 * Writes failed items as their original input records plus an `_error` key, so that feeding the file
 * back as input re-runs exactly the failures.
 *
 * @remarks
 * Each record is `item.inputs` (any earlier `_error` replaced) plus
 * `_error: { seq, id, code, message, status?, difyCode?, attempts }`. A record a source could not
 * parse arrives as `inputs: { _raw: '<line>' }` and is written as `{ _raw, _error }`.
 * Fed back as input, the file re-runs exactly the failures: the sources remove `_error` (and put a
 * CSV's `_error.extra` fields back), so the original record is sent; an entry with `_raw` (or a CSV
 * `_error.raw`) stays an `ERR_SOURCE_PARSE` failure without a call, its text kept, until you replace
 * the entry with the fixed record.
 * CSV files get the input's columns (the `columns` option, or the first record's keys) plus an
 * `_error` column of JSON; a field outside the columns goes to `_error.extra` and `_raw` to
 * `_error.raw`, so nothing is dropped. Backpressure, errors and the lazy creation of the file
 * (on the first entry, or at a successful `close()`) are as in {@link toFile}.
 *
 * @param path - The dead-letter file, or `-` for stdout.
 * @param options - Format, CSV columns and signal.
 * @returns A {@link ResultSink} of {@link DeadLetterEntry}s.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for bad options. `write`/`close`
 * reject with ERR_SINK_WRITE naming the path (fatal), and with `signal.reason` on abort.
 * @example
 * ```ts
 * import { toDeadLetter } from 'dify-batch';
 *
 * const dead = toDeadLetter('failed.ndjson');
 * await dead.write([{
 *   item: { seq: 4, id: 'r4', inputs: { id: 'r4', q: 'hi' } },
 *   result: { seq: 4, id: 'r4', ok: false, attempts: 3, latencyMs: 900,
 *     error: { code: 'ERR_DIFY_HTTP', message: 'HTTP 500', status: 500, retryable: true } },
 * }]);
 * await dead.close();
 * // failed.ndjson:
 * // {"id":"r4","q":"hi","_error":{"seq":4,"id":"r4","code":"ERR_DIFY_HTTP","message":"HTTP 500","status":500,"attempts":3}}
 * ```
 * @see toFile
 * @see fromFile
 * @since 0.1.0
 * @category sinks
 */
export function toDeadLetter(
  path: string,
  options?: Readonly<ToDeadLetterOptions>,
): ResultSink<DeadLetterEntry> {
  checkSinkPath(path);
  const format =
    options?.format !== undefined
      ? checkSinkFormat(options.format)
      : (formatOfName(path) ?? TO_DEAD_LETTER_DEFAULTS.format);
  const columns = options?.columns;
  checkOption(
    columns === undefined || (Array.isArray(columns) && columns.every((c) => typeof c === 'string')),
    'columns',
    'an array of strings',
    columns,
  );
  const resumeAt = checkResumeAt(options?.resumeAt, path);
  return openPathSink(path, format, deadLetterEncoding(columns), options?.signal, resumeAt);
}

/** The record a dead-letter NDJSON line (or Kafka message) holds: the input plus `_error`. */
export function deadLetterRecord(entry: DeadLetterEntry): Record<string, unknown> {
  return { ...withoutKey(entry.item.inputs, '_error'), _error: errorOf(entry) };
}

function deadLetterEncoding(columns: readonly string[] | undefined): EncoderSpec<DeadLetterEntry> {
  return {
    toRecord: deadLetterRecord,
    csvColumns: (first) => {
      const names = columns ?? (first === undefined ? undefined : Object.keys(first.item.inputs));
      return names === undefined
        ? undefined
        : [...names.filter((n) => n !== '_error' && n !== '_raw'), '_error'];
    },
    toCsvRow: (entry, cols) => {
      const fields = withoutKey(entry.item.inputs, '_error');
      const known = new Set(cols);
      const { _raw, ...rest } = fields;
      const extra = Object.fromEntries(Object.entries(rest).filter(([key]) => !known.has(key)));
      const error: DeadLetterError = {
        ...errorOf(entry),
        ...(typeof _raw === 'string' ? { raw: _raw } : {}),
        ...(Object.keys(extra).length > 0 ? { extra } : {}),
      };
      // Own fields only: a column named `constructor` must not pick up Object.prototype's.
      return cols.map((col) =>
        col === '_error' ? JSON.stringify(error) : Object.hasOwn(fields, col) ? (fields[col] ?? '') : '',
      );
    },
  };
}

function errorOf({ result }: DeadLetterEntry): DeadLetterError {
  const { error } = result;
  return {
    seq: result.seq,
    id: result.id,
    code: error.code,
    message: error.message,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.difyCode === undefined ? {} : { difyCode: error.difyCode }),
    attempts: result.attempts,
  };
}

function withoutKey(record: Record<string, unknown>, key: string): Record<string, unknown> {
  if (!Object.hasOwn(record, key)) return record;
  const { [key]: _dropped, ...rest } = record;
  return rest;
}
