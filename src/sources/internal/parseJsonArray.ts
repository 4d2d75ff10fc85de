import { isUtf8 } from 'node:buffer';
import { JSONParser, type ParsedTokenInfo, TokenType } from '@streamparser/json';
import { MAX_RECORD_BYTES } from '../MAX_RECORD_BYTES.js';
import type { ParsedRecord } from './ParsedRecord.js';
import { bomLength, countNewlines, toBuffer } from './toBuffer.js';
import { incompleteUtf8Tail, replaceInvalidUtf8 } from './utf8.js';

/**
 * Streams the elements of one top-level JSON array with @streamparser/json
 * (`paths: ['$.*'], keepStack: false`, so emitted elements are not kept).
 *
 * @remarks
 * The parser works synchronously per chunk; the elements one chunk completes are yielded together
 * before the next chunk is read, so read-ahead is one chunk. Token offsets give each
 * element's end byte; newlines are counted as chunks pass to give its start line.
 * An element holding bytes that are not UTF-8 is an error record (`not valid UTF-8 text`).
 * A syntax error, an element over `maxRecordBytes` or a truncated array is thrown (fatal),
 * its message starting `line N:`: once the array structure is broken there is no safe place to
 * resume, unlike NDJSON where the next line starts afresh. Empty (or all-whitespace) input yields nothing.
 */
export async function* parseJsonArray(
  input: AsyncIterable<unknown>,
  maxRecordBytes: number = MAX_RECORD_BYTES,
): AsyncGenerator<ParsedRecord[]> {
  const parser = new JSONParser({ paths: ['$.*'], keepStack: false });
  const ready: ParsedRecord[] = [];
  let failure: Error | undefined;
  let sawToken = false;
  let depth = 0;
  let elementLine = 1;
  let elementEnd = 0;
  let elementStart = 0;
  // Line counting state: `line` is the line at byte `scanned` of the current chunk.
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = 0;
  let scanned = 0;
  let line = 1;
  const countTo = (index: number): void => {
    if (index <= scanned) return;
    line += countNewlines(chunk, scanned, index);
    scanned = index;
  };

  // A fatal error names the line of the last token read before it (or the last line, at the end).
  let lastToken = 0;
  const fail = (message: string): void => {
    if (failure !== undefined) return;
    countTo(lastToken - chunkStart);
    failure = new Error(`line ${line}: ${message}`);
  };
  parser.onToken = ({ token, offset }: ParsedTokenInfo) => {
    lastToken = offset;
    if (!sawToken) {
      sawToken = true;
      if (token !== TokenType.LEFT_BRACKET) fail('expected a JSON array at the top level');
    }
    if (depth === 1 && token !== TokenType.COMMA && token !== TokenType.RIGHT_BRACKET) {
      // A token at depth 1 that is not a separator starts an element.
      countTo(offset - chunkStart);
      elementLine = line;
      elementStart = offset;
    }
    if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) depth++;
    else if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) depth--;
    elementEnd = offset + 1;
  };
  // File positions (after any BOM) of bytes that were not UTF-8 and reached the parser as `?`.
  const invalidAt: number[] = [];
  parser.onValue = ({ value, key }) => {
    // Nothing after a failure is trusted (and a top-level object would emit its members here).
    if (failure !== undefined) return;
    const record = typeof key === 'number' ? key + 1 : undefined;
    while (invalidAt.length > 0 && invalidAt[0]! < elementStart) invalidAt.shift();
    if (invalidAt.length > 0 && invalidAt[0]! < elementEnd) {
      const raw = JSON.stringify(value);
      ready.push({
        error: 'not valid UTF-8 text',
        raw,
        line: elementLine,
        offset: elementEnd,
        ...(record ? { record } : {}),
      });
      return;
    }
    ready.push({ value, line: elementLine, offset: elementEnd, ...(record ? { record } : {}) });
  };
  parser.onError = (error) => {
    fail(describe(error));
  };

  const feed = (buf: Buffer): void => {
    // The parser decodes strictly and would fail the whole stream on one bad byte: bytes that are
    // not UTF-8 go in as `?` (offsets unchanged) and the elements holding them become error records.
    const checked = isUtf8(buf) ? buf : replaceInvalidUtf8(buf, chunkStart, invalidAt);
    chunk = checked;
    scanned = 0;
    parser.write(checked);
    countTo(checked.length);
    chunkStart += checked.length;
    // The element being built (or, between elements, one token: a long string) is held in memory.
    if (chunkStart - (depth >= 2 ? elementStart : lastToken) > maxRecordBytes) {
      fail(`a record longer than ${maxRecordBytes} bytes, the most one record may take`);
    }
  };

  let bom = -1;
  // The start of a multi-byte character that the previous chunk cut off.
  let carry: Buffer = Buffer.alloc(0);
  for await (const piece of input) {
    let buf = toBuffer(piece);
    if (bom === -1 && buf.length > 0) {
      bom = bomLength(buf);
      buf = buf.subarray(bom);
    }
    if (carry.length > 0) buf = Buffer.concat([carry, buf]);
    const cut = incompleteUtf8Tail(buf);
    carry = Buffer.from(buf.subarray(buf.length - cut));
    feed(buf.subarray(0, buf.length - cut));
    // The elements before a syntax error are good, so they go out before the error, however chunks fall.
    if (ready.length > 0) yield takeAll(ready, bom);
    if (failure !== undefined) throw failure;
  }
  // A character still cut off at the end of the input is not UTF-8.
  if (carry.length > 0) feed(carry);
  if (!sawToken) return;
  if (!parser.isEnded) parser.end();
  if (ready.length > 0) yield takeAll(ready, bom);
  if (failure !== undefined) throw failure;
}

/** Empties the queue (so memory stays at one chunk's elements); offsets become file offsets, the parser's start after a BOM. */
function takeAll(ready: ParsedRecord[], bom: number): ParsedRecord[] {
  const records = ready.splice(0);
  return bom <= 0
    ? records
    : records.map((r) => (r.offset === undefined ? r : { ...r, offset: r.offset + bom }));
}

/** The parser's messages, in the words of someone looking at the file. */
function describe(error: Error): string {
  if (/not valid for encoding utf-8/i.test(error.message)) return 'not valid UTF-8 text';
  if (/ended in mid-parsing/i.test(error.message)) {
    return 'the JSON array ends before it is closed (is the file truncated?)';
  }
  return error.message;
}
