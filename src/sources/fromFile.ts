import { createReadStream } from 'node:fs';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DifyBatchError } from '../core/DifyBatchError.js';
import type { Item } from '../core/Item.js';
import { checkOption, checkString } from '../internal/checkOption.js';
import { checkFormatOfPath } from './internal/formatOf.js';
import { readCsvHeader } from './internal/parseCsv.js';
import { type ReadContext, readItems } from './internal/readItems.js';
import { checkFormat, resolveSourceOptions } from './internal/resolveSourceOptions.js';
import { countNewlines } from './internal/toBuffer.js';
import type { SourceFormat } from './SourceFormat.js';
import type { SourceOptions } from './SourceOptions.js';

/**
 * Options of {@link fromFile}.
 * @category sources
 */
export interface FromFileOptions extends SourceOptions {
  /**
   * How the file is framed.
   * @defaultValue inferred from the extension: `.ndjson`/`.jsonl` → `'ndjson'`, `.json` → `'json'`,
   * `.csv` → `'csv'`, each also with `.gz`; `'ndjson'` for stdin (`-`)
   */
  readonly format?: SourceFormat | undefined;
  /**
   * Continue after a checkpoint: the first item yielded has `seq`, and starts at byte `offset` (after
   * `line` lines) — the `position` of the last item done. Uncompressed NDJSON and CSV seek there
   * (nothing before it is parsed again; CSV reads its header row from the start and counts the lines
   * before `offset`); JSON arrays and gzip re-read the file and drop the first `seq` records (as
   * `skip` does). Not for stdin. Overrides `skip`.
   * @defaultValue `undefined` (from the start)
   */
  readonly resumeFrom?: { readonly seq: number; readonly line: number; readonly offset: number } | undefined;
}

/** Throws unless `resumeFrom` is undefined or three integers ≥ 0, for a file. */
function checkResumeFrom(value: unknown, isStdin: boolean): FromFileOptions['resumeFrom'] {
  if (value === undefined) return undefined;
  const v = value as Record<string, unknown>;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    [v.seq, v.line, v.offset].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
  checkOption(ok, 'resumeFrom', '{ seq, line, offset } integers ≥ 0', value);
  checkOption(!isStdin, 'resumeFrom', 'a file (stdin cannot be resumed)', value);
  return value as FromFileOptions['resumeFrom'];
}

/**
 * Reads a file of records (NDJSON, JSON array or CSV, optionally gzipped) as items; `-` reads stdin.
 *
 * @remarks
 * Pull-based with bounded read-ahead: the file is opened on the first `next()` and read one chunk
 * (64 KiB) at a time as the consumer asks, so a 10 GB file costs the same memory as a small one.
 * - `ndjson`: one object a line; blank lines are skipped but counted, a malformed line becomes an
 *   error item (`line 17: Unexpected token …`) and reading goes on.
 * - `json`: the elements of one top-level array, streamed; a non-object element is an error item, but
 *   a syntax error is **fatal**: once the array structure is broken there is no safe resume point.
 * - `csv`: a header row, then records whose keys are the header names and whose values are strings;
 *   blank lines are skipped; a row with the wrong number of fields is an error item, a broken quote is fatal.
 *
 * - Any format: a record that is not valid UTF-8 is an error item naming its line; the bytes are
 *   never silently replaced by U+FFFD. A record
 *   over `MAX_RECORD_BYTES` (64 MiB) is an error item in NDJSON and fatal in CSV and JSON. Keys
 *   such as `__proto__` and `constructor` stay plain fields of the record.
 * - Dead-letter files read back (records with `_error` or `_raw`, as `toDeadLetter` writes
 *   them): `_error` is removed (and a CSV's `_error.extra` fields put back), so the original record is
 *   re-run; an entry that never parsed (`_raw`, or `_error.raw` in CSV) stays an `ERR_SOURCE_PARSE`
 *   item carrying its text, so it is never sent and a new dead-letter file keeps it.
 *
 * Every item has `position = { partition: path, line, offset }`, where `line` is the 1-based line the
 * record starts on and `offset` the byte offset just after it (in decompressed bytes for `.gz`).
 * Error items have `error.code === 'ERR_SOURCE_PARSE'`, a message naming the line, and for an
 * unparseable record its original text in `inputs._raw` (so a dead-letter file keeps it); a record
 * missing its `idField` keeps its fields as `inputs`.
 *
 * @param path - The file path, or `-` for stdin (which is never closed by the source).
 * @param options - The format, and the options every source takes.
 * @returns An async iterable of items with dense `seq` from 0; each iteration reads the file afresh.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for bad options or an unknown
 * extension without `format`. The iterator rejects with ERR_SOURCE_READ (message naming the path)
 * for a missing or unreadable file, a truncated gzip stream, a broken JSON array or CSV quote (the
 * message names the line), and with
 * `signal.reason` on abort (the file is closed at once).
 * @example
 * ```ts
 * import { fromFile } from 'dify-batch';
 *
 * for await (const item of fromFile('rows.csv', { idField: 'id' })) {
 *   console.log(item.seq, item.id, item.position?.line, item.error?.message ?? item.inputs);
 * }
 * // Output:
 * // 0 a1 2 { id: 'a1', query: 'hello' }
 * // 1 1 3 line 3: expected 2 fields (as in the header), got 3
 * ```
 * @see fromReadable
 * @since 0.1.0
 * @category sources
 */
export function fromFile(path: string, options?: Readonly<FromFileOptions>): AsyncIterable<Item> {
  checkString('path', path);
  const resolved = resolveSourceOptions(options);
  const isStdin = path === '-';
  const gzip = !isStdin && /\.gz$/i.test(path);
  const format =
    options?.format !== undefined
      ? checkFormat(options.format)
      : isStdin
        ? 'ndjson'
        : checkFormatOfPath(path);
  const resumeFrom = checkResumeFrom(options?.resumeFrom, isStdin);
  // NDJSON lines parse from any record boundary; CSV rows too, given the header read from the start.
  const seek = resumeFrom !== undefined && resumeFrom.seq > 0 && !gzip && format !== 'json';
  const ctx = {
    ...resolved,
    ...(resumeFrom === undefined ? {} : { skip: resumeFrom.seq }),
    ...(seek ? { firstSeq: resumeFrom.seq, ...(format === 'ndjson' ? { startAt: resumeFrom } : {}) } : {}),
    format,
    partition: path,
    label: isStdin ? 'stdin' : path,
  };
  return {
    [Symbol.asyncIterator]: () => {
      if (seek && format === 'csv') return resumeCsv(path, resumeFrom.offset, ctx);
      const input = isStdin ? stdinView() : createReadStream(path, seek ? { start: resumeFrom.offset } : {});
      const tail = gzip ? pipeline(input, createGunzip(), () => {}) : input;
      return readItems(tail, ctx);
    },
  };
}

/**
 * CSV from a checkpoint: the header is read from the file's start (and nothing past it), the lines
 * before `offset` are counted (a byte scan, no parsing), then the rows are parsed from `offset` on.
 */
async function* resumeCsv(path: string, offset: number, ctx: ReadContext): AsyncGenerator<Item> {
  let header: readonly string[] | undefined;
  let line = 0;
  try {
    header = await readCsvHeader(createReadStream(path, ctx.signal ? { signal: ctx.signal } : {}));
    const prefix = createReadStream(path, { end: offset - 1, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    for await (const chunk of prefix) {
      const buf = chunk as Buffer;
      line += countNewlines(buf, 0, buf.length);
    }
  } catch (error) {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    const message = error instanceof Error ? error.message : String(error);
    throw new DifyBatchError('ERR_SOURCE_READ', `cannot read ${path}: ${message}`, { cause: error });
  }
  const input = createReadStream(path, { start: offset });
  yield* readItems(input, header === undefined ? ctx : { ...ctx, csvResume: { header, line, offset } });
}

/** stdin through a PassThrough we own, so that ending or aborting the source never closes stdin itself. */
function stdinView(): Readable {
  const view = new PassThrough();
  process.stdin.pipe(view);
  view.once('close', () => process.stdin.unpipe(view));
  return view;
}
