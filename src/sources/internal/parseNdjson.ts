import { isUtf8 } from 'node:buffer';
import { MAX_RECORD_BYTES } from '../MAX_RECORD_BYTES.js';
import type { ParsedRecord } from './ParsedRecord.js';
import { bomLength, toBuffer } from './toBuffer.js';

/**
 * Splits a byte stream on `\n` and parses each line with `JSON.parse`, yielding the records of one
 * chunk at a time (one await per chunk, not per line, is what makes it fast).
 *
 * @remarks
 * Lines are cut from the Buffers themselves (not readline) so that `offset` is the exact byte
 * position after each line, CRLF or not: that is the resume point. Only the current chunk and one
 * partial line are held, and the `for await` pauses the stream while the consumer is idle, so
 * read-ahead is one chunk (the stream's highWaterMark) and its records. Blank lines yield nothing but still count.
 * A line longer than `maxRecordBytes` is an error record holding its first KiB; only that much of it
 * is kept while the rest is skipped. A line that is not valid UTF-8 is an error record (`not valid UTF-8 text`), never silently
 * decoded with U+FFFD in place of the bad bytes.
 * `startAt` numbers a stream that begins mid-file (a resume seeks past the lines already done).
 */
export async function* parseNdjson(
  input: AsyncIterable<unknown>,
  maxRecordBytes: number = MAX_RECORD_BYTES,
  startAt?: { readonly line: number; readonly offset: number },
): AsyncGenerator<ParsedRecord[]> {
  let partial: Buffer[] = [];
  // Bytes of the current line so far, and of them those kept in `partial` (all, up to maxRecordBytes).
  let partialBytes = 0;
  let keptBytes = 0;
  let line = startAt?.line ?? 0;
  let offset = startAt?.offset ?? 0;
  // A byte order mark can only open the file, never a stream that starts mid-file.
  let first = startAt === undefined;
  /** Ends the current line with `piece` (and a newline, unless it is the end of the input). */
  const finish = (piece: Buffer, newline: boolean): ParsedRecord | undefined => {
    const length = partialBytes + piece.length;
    line++;
    offset += length + (newline ? 1 : 0);
    const record =
      length > maxRecordBytes
        ? {
            error: `longer than ${maxRecordBytes} bytes (${length}), the most one record may take`,
            raw: `${head(keptBytes === partialBytes ? [...partial, piece] : partial, RAW_HEAD_BYTES).toString('utf8')}…`,
            line,
            offset,
          }
        : parseLine(partial.length === 0 ? piece : Buffer.concat([...partial, piece]), line, offset);
    partial = [];
    partialBytes = 0;
    keptBytes = 0;
    return record;
  };
  for await (const chunk of input) {
    let buf = toBuffer(chunk);
    if (first && buf.length > 0) {
      first = false;
      offset = bomLength(buf);
      buf = buf.subarray(offset);
    }
    const records: ParsedRecord[] = [];
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
      const record = finish(buf.subarray(start, nl), true);
      start = nl + 1;
      if (record !== undefined) records.push(record);
    }
    if (start < buf.length) {
      const tail = buf.subarray(start);
      // Past the limit only the line's first KiB is kept, for the error record.
      const keep =
        partialBytes + tail.length <= maxRecordBytes
          ? tail.length
          : keptBytes === partialBytes
            ? Math.max(0, RAW_HEAD_BYTES - keptBytes)
            : 0;
      // Copy the tail: a subarray would pin the whole chunk until the next newline arrives.
      if (keep > 0) partial.push(Buffer.from(tail.subarray(0, keep)));
      keptBytes += keep;
      partialBytes += tail.length;
    }
    if (records.length > 0) yield records;
  }
  if (partialBytes > 0) {
    const record = finish(Buffer.alloc(0), false);
    if (record !== undefined) yield [record];
  }
}

/** How much of an over-long line its error record keeps as `raw`. */
const RAW_HEAD_BYTES = 1024;

/** The first `bytes` bytes of `chunks`, without joining them all. */
function head(chunks: readonly Buffer[], bytes: number): Buffer {
  const taken: Buffer[] = [];
  let size = 0;
  for (const chunk of chunks) {
    if (size >= bytes) break;
    taken.push(chunk.subarray(0, bytes - size));
    size += taken[taken.length - 1]!.length;
  }
  return Buffer.concat(taken);
}

function parseLine(bytes: Buffer, line: number, offset: number): ParsedRecord | undefined {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
  const text = bytes.toString('utf8', 0, end);
  // toString replaces invalid UTF-8 with U+FFFD; only then is the (rarer) exact check worth its cost.
  if (text.includes('\uFFFD') && !isUtf8(bytes.subarray(0, end))) {
    return { error: 'not valid UTF-8 text', raw: text, line, offset };
  }
  try {
    return { value: JSON.parse(text), line, offset };
  } catch (error) {
    // Blank lines are rare, so they are recognised only once JSON.parse has refused them.
    if (text.trim() === '') return undefined;
    return { error: (error as Error).message, raw: text, line, offset };
  }
}
