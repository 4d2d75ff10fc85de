import type { Readable } from 'node:stream';
import type { Item } from '../core/Item.js';
import { checkOption } from '../internal/checkOption.js';
import { readItems } from './internal/readItems.js';
import { checkFormat, resolveSourceOptions } from './internal/resolveSourceOptions.js';
import type { SourceFormat } from './SourceFormat.js';
import type { SourceOptions } from './SourceOptions.js';

/**
 * Options of {@link fromReadable}.
 * @category sources
 */
export interface FromReadableOptions extends SourceOptions {
  /** How the bytes are framed. Required: a stream has no file extension to go by. */
  readonly format: SourceFormat;
  /**
   * The `position.partition` of every item, for watermarking when several streams feed one run.
   * @defaultValue `undefined` (no partition)
   */
  readonly partition?: string | undefined;
}

/**
 * Reads records from any byte stream (a socket, an HTTP body, a child's stdout) as items.
 *
 * @remarks
 * Pull-based: the stream is read only as the consumer calls `next()`, so at most about one chunk
 * (the stream's highWaterMark) is buffered ahead, whatever the input size.
 * Per-record problems (a malformed line, a non-object value, a CSV row with the wrong field count, a
 * missing id field) become items with `error.code === 'ERR_SOURCE_PARSE'` and the run goes on;
 * unparseable records keep their text in `inputs._raw`. For `json`, a syntax error breaks the array
 * structure and is fatal. Bad input is handled as in {@link fromFile} (invalid UTF-8 per record,
 * `MAX_RECORD_BYTES`, `__proto__` keys as plain fields, dead-letter records restored).
 * The source owns the stream from the first `next()`: ending the iteration early (`break`), an error or
 * an abort destroys it, as Node's own `for await` over a Readable does.
 *
 * @param readable - A byte (or string) stream; object mode is not supported.
 * @param options - The format, and the options every source takes.
 * @returns A single-use async iterable of items with dense `seq` from 0.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for bad options. The iterator
 * rejects with ERR_SOURCE_READ when the stream fails or its structure is broken, and with
 * `signal.reason` on abort.
 * @example
 * ```ts
 * import { Readable } from 'node:stream';
 * import { fromReadable } from 'dify-batch';
 *
 * const body = Readable.from(['{"q":"a"}\n', 'oops\n', '{"q":"b"}\n']);
 * for await (const item of fromReadable(body, { format: 'ndjson' })) {
 *   console.log(item.seq, item.error?.code ?? item.inputs.q);
 * }
 * // Output:
 * // 0 a
 * // 1 ERR_SOURCE_PARSE
 * // 2 b
 * ```
 * @see fromFile
 * @since 0.1.0
 * @category sources
 */
export function fromReadable(
  readable: Readable,
  options: Readonly<FromReadableOptions>,
): AsyncIterable<Item> {
  checkOption(typeof readable?.pipe === 'function', 'readable', 'a Node Readable stream', readable);
  const format = checkFormat(options?.format);
  const { idField, skip, signal } = resolveSourceOptions(options);
  return readItems(readable, {
    format,
    partition: options.partition,
    label: options.partition ?? 'the input stream',
    idField,
    skip,
    signal,
  });
}
