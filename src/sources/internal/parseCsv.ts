import { Parser } from 'csv-parse';
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
  for await (const _records of parseCsv(input, undefined, (h) => (header = h))) break;
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
 * per-row error carrying the raw row (`relax_column_count` keeps it from failing the stream). Other
 * CSV errors (a broken quote) are thrown: csv-parse cannot resynchronise after them. Blank lines are
 * skipped but counted, as in NDJSON.
 */
export async function* parseCsv(
  input: AsyncIterable<unknown>,
  resume?: CsvResume,
  onHeader?: (header: readonly string[]) => void,
): AsyncGenerator<ParsedRecord[]> {
  const parser = new Parser({ bom: true, raw: true, relax_column_count: true });
  // The error is read from `parser.errored` (set synchronously); the listener only keeps it handled.
  parser.on('error', () => {});
  let header: readonly string[] | undefined = resume?.header;
  let line = resume?.line ?? 0;
  let offset = resume === undefined ? -1 : resume.offset;
  const toParsed = ({ record, raw: partial }: CsvRow): ParsedRecord | undefined => {
    // The delimiter is auto-detected on the first record; complete a truncated `\r\n` from it.
    const delimiter = parser.options.record_delimiter[0]?.toString() ?? '\n';
    const raw =
      delimiter.length > 1 && partial.endsWith(delimiter[0]!) ? partial + delimiter.slice(1) : partial;
    const start = line + 1;
    line += countChar(raw, '\n');
    offset += Buffer.byteLength(raw);
    if (record.length === 1 && record[0] === '' && raw.trim() === '') return undefined;
    if (header === undefined) {
      header = record;
      onHeader?.(record);
      return undefined;
    }
    if (record.length !== header.length) {
      const error = `expected ${header.length} fields (as in the header), got ${record.length}`;
      return {
        error,
        raw: raw.slice(0, raw.endsWith(delimiter) ? -delimiter.length : undefined),
        line: start,
        offset,
      };
    }
    const value: Record<string, string> = {};
    for (let i = 0; i < header.length; i++) value[header[i]!] = record[i]!;
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
      const buf = toBuffer(chunk);
      // csv-parse strips a BOM from `raw`, but it is in the file's byte offsets.
      if (offset === -1 && buf.length > 0) offset = bomLength(buf);
      parser.write(buf);
      const records = take(readAvailable(parser));
      // A header probe (readCsvHeader) stops here; so does a caller that has what it needs.
      if (records.length > 0 || (onHeader !== undefined && header !== undefined)) yield records;
      if (parser.errored) throw parser.errored;
    }
    parser.end();
    // The last record (no trailing newline) and a flush-time error arrive after end(), asynchronously.
    const rest: CsvRow[] = [];
    for await (const row of parser as AsyncIterable<CsvRow>) rest.push(row);
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
