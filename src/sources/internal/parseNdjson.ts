import { isUtf8 } from 'node:buffer';
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
 * A line that is not valid UTF-8 is an error record (`not valid UTF-8 text`), never silently
 * decoded with U+FFFD in place of the bad bytes.
 */
export async function* parseNdjson(input: AsyncIterable<unknown>): AsyncGenerator<ParsedRecord[]> {
  let partial: Buffer[] = [];
  let line = 0;
  let offset = 0;
  let first = true;
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
      const piece = buf.subarray(start, nl);
      const bytes = partial.length === 0 ? piece : Buffer.concat([...partial, piece]);
      partial = [];
      start = nl + 1;
      line++;
      offset += bytes.length + 1;
      const record = parseLine(bytes, line, offset);
      if (record !== undefined) records.push(record);
    }
    // Copy the tail: a subarray would pin the whole chunk until the next newline arrives.
    if (start < buf.length) partial.push(Buffer.from(buf.subarray(start)));
    if (records.length > 0) yield records;
  }
  if (partial.length > 0) {
    const bytes = Buffer.concat(partial);
    const record = parseLine(bytes, line + 1, offset + bytes.length);
    if (record !== undefined) yield [record];
  }
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
