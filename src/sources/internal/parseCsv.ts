import { isUtf8 } from 'node:buffer';
import { Parser } from 'csv-parse';
import { MAX_RECORD_BYTES } from '../MAX_RECORD_BYTES.js';
import type { ParsedRecord } from './ParsedRecord.js';
import { bomLength, toBuffer } from './toBuffer.js';

interface CsvRow {
  readonly record: string[];
  /** The record's text and the first character of its delimiter (csv-parse skips the rest of `\r\n`). */
  readonly raw: string;
}

/**
 * A CSV stream that starts mid-file (a resume seeks past the records already done): the file's
 * header, and how many lines and bytes come before the stream.
 */
export interface CsvResume {
  readonly header: readonly string[];
  readonly line: number;
  readonly offset: number;
}

/**
 * The header row of a CSV stream (its first non-blank record), reading no further than needed;
 * `undefined` for a stream without one. Used by fromFile to resume mid-file.
 */
export async function readCsvHeader(input: AsyncIterable<unknown>): Promise<readonly string[] | undefined> {
  let header: readonly string[] | undefined;
  for await (const _records of parseCsv(input, undefined, undefined, (h) => (header = h))) break;
  return header;
}

/**
 * Parses CSV with a header row through csv-parse; header names become the record's keys, values
 * stay strings. Yields the records of one input chunk at a time.
 *
 * @remarks
 * The parser is driven by hand: each chunk is written and the records it completes are read out at
 * once (a Transform parses synchronously inside `write()`), so read-ahead is one input chunk and
 * there is one await per chunk rather than per record.
 * Rows come as arrays with their raw text (`columns: false, raw: true`) and are mapped to the header
 * here: csv-parse's `info` snapshots, which would give lines and byte counts, cost more than the
 * parsing itself, and counting them from `raw` is exact. A row with the wrong number of fields is a
 * per-row error carrying the raw row (`relax_column_count` keeps it from failing the stream), and so
 * is a row that is not valid UTF-8 (never decoded with U+FFFD in place of its bytes). Other CSV
 * errors (a broken quote) are thrown, their message starting `line N:` (where the broken record
 * starts): csv-parse cannot resynchronise after them. Blank lines are skipped but counted, as in NDJSON.
 * Header names are plain keys, `__proto__` included. A record over `maxRecordBytes` is fatal too.
 */
export async function* parseCsv(
  input: AsyncIterable<unknown>,
  maxRecordBytes: number = MAX_RECORD_BYTES,
  resume?: CsvResume,
  onHeader?: (header: readonly string[]) => void,
): AsyncGenerator<ParsedRecord[]> {
  // latin1 maps each byte to one character, so `raw.length` is the record's size in bytes and
  // Buffer.from(raw, 'latin1') its exact bytes: invalid UTF-8 can be found per record instead of
  // being replaced by U+FFFD, and offsets stay exact. CSV's own characters are ASCII, which UTF-8
  // multi-byte sequences never contain, so the parse itself is unchanged. The BOM is skipped here:
  // csv-parse's `bom` option would switch the parser back to UTF-8.
  const parser = new Parser({
    bom: false,
    encoding: 'latin1',
    raw: true,
    relax_column_count: true,
    max_record_size: maxRecordBytes,
  });
  // The error is read from `parser.errored` (set synchronously); the listener only keeps it handled.
  parser.on('error', () => {});
  let header: readonly string[] | undefined = resume?.header;
  let line = resume?.line ?? 0;
  let offset = resume === undefined ? -1 : resume.offset;
  const toParsed = ({ record, raw: partial }: CsvRow): ParsedRecord | undefined => {
    // The delimiter is auto-detected on the first record; complete a truncated `\r\n` from it.
    const delimiter = parser.options.record_delimiter[0]?.toString('latin1') ?? '\n';
    const raw =
      delimiter.length > 1 && partial.endsWith(delimiter[0]!) ? partial + delimiter.slice(1) : partial;
    const start = line + 1;
    line += countChar(raw, '\n');
    offset += raw.length;
    if (record.length === 1 && record[0] === '' && raw.trim() === '') return undefined;
    const ascii = isAscii(raw);
    const bytes = ascii ? undefined : Buffer.from(raw, 'latin1');
    // Only fields with non-ASCII bytes need decoding (most fields of most rows are ASCII).
    const text = (latin1: string): string =>
      bytes === undefined || isAscii(latin1) ? latin1 : Buffer.from(latin1, 'latin1').toString('utf8');
    const rowText = (): string => text(raw.endsWith(delimiter) ? raw.slice(0, -delimiter.length) : raw);
    if (bytes !== undefined && !isUtf8(bytes)) {
      if (header === undefined) throw new Error(`line ${start}: the header row is not valid UTF-8`);
      return { error: 'not valid UTF-8 text', raw: rowText(), line: start, offset };
    }
    if (header === undefined) {
      header = record.map(text);
      onHeader?.(header);
      return undefined;
    }
    if (record.length !== header.length) {
      const error = `expected ${header.length} fields (as in the header), got ${record.length}`;
      return { error, raw: rowText(), line: start, offset };
    }
    const value: Record<string, string> = {};
    for (let i = 0; i < header.length; i++) {
      const name = header[i]!;
      // `value.__proto__ = …` would set the prototype (or be ignored); keep it a plain field.
      if (name === '__proto__')
        Object.defineProperty(value, name, {
          value: text(record[i]!),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else value[name] = text(record[i]!);
    }
    return { value, line: start, offset };
  };
  const take = (rows: Iterable<CsvRow>): ParsedRecord[] => {
    const records: ParsedRecord[] = [];
    for (const row of rows) {
      const record = toParsed(row);
      if (record !== undefined) records.push(record);
    }
    return records;
  };
  try {
    for await (const chunk of input) {
      let buf = toBuffer(chunk);
      if (offset === -1 && buf.length > 0) {
        // The BOM is not part of the first record, but it is in the file's byte offsets.
        offset = bomLength(buf);
        buf = buf.subarray(offset);
      }
      parser.write(buf);
      const records = take(readAvailable(parser));
      // A header probe (readCsvHeader) stops at the first yield, once the header is known.
      if (records.length > 0 || (onHeader !== undefined && header !== undefined)) yield records;
      if (parser.errored) throw located(parser.errored, line + 1, maxRecordBytes);
    }
    parser.end();
    // The last record (no trailing newline) and a flush-time error arrive after end(), asynchronously.
    const rest: CsvRow[] = [];
    try {
      for await (const row of parser as AsyncIterable<CsvRow>) rest.push(row);
    } catch (error) {
      throw located(error as Error, line + 1, maxRecordBytes);
    }
    const records = take(rest);
    if (records.length > 0) yield records;
  } finally {
    parser.destroy();
  }
}

function* readAvailable(parser: Parser): Generator<CsvRow> {
  for (let row: CsvRow | null = parser.read(); row !== null; row = parser.read()) yield row;
}

function countChar(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i !== -1; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/** Whether a latin1 string holds only ASCII bytes (then it is already its own UTF-8 decoding). */
function isAscii(text: string): boolean {
  return !/[\u0080-\u00ff]/.test(text);
}

/**
 * A csv-parse error, named by the line where the broken record starts (csv-parse names the line where
 * it gave up, which for a quote never closed is the end of the file).
 */
function located(error: Error, line: number, maxRecordBytes: number): Error {
  const code = (error as { code?: unknown }).code;
  const message =
    code === 'CSV_QUOTE_NOT_CLOSED'
      ? 'a quoted field is opened in this record and never closed'
      : code === 'CSV_MAX_RECORD_SIZE'
        ? `a record longer than ${maxRecordBytes} bytes, the most one record may take`
        : error.message;
  return new Error(`line ${line}: ${message}`, { cause: error });
}
