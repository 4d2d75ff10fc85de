import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ParsedRecord } from '../../src/sources/internal/ParsedRecord.js';
import { parseCsv } from '../../src/sources/internal/parseCsv.js';
import { parseJsonArray } from '../../src/sources/internal/parseJsonArray.js';
import { parseNdjson } from '../../src/sources/internal/parseNdjson.js';
import { MAX_RECORD_BYTES } from '../../src/sources/MAX_RECORD_BYTES.js';

type Parser = (input: AsyncIterable<unknown>, max: number) => AsyncGenerator<ParsedRecord[]>;

/** Parses `text` fed in `chunk`-byte pieces with a small record limit; the records, or the fatal error. */
async function parse(parser: Parser, text: string, max: number, chunk = 7) {
  const bytes = Buffer.from(text);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  const records: ParsedRecord[] = [];
  try {
    for await (const batch of parser(Readable.from(pieces), max)) records.push(...batch);
  } catch (error) {
    return { records, error: error as Error };
  }
  return { records, error: undefined };
}

describe('MAX_RECORD_BYTES', () => {
  it('is 64 MiB, as documented', () => {
    expect(MAX_RECORD_BYTES).toBe(64 * 1024 * 1024);
  });

  it('NDJSON: a longer line is an error record naming the line, keeping its start; the next lines still parse', async () => {
    const long = `{"q":"${'x'.repeat(100)}"}`;
    const text = `{"q":"a"}\n${long}\n{"q":"b"}\n${long}`;
    const { records, error } = await parse(parseNdjson, text, 50);
    expect(error).toBeUndefined();
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 4]);
    expect(records[1]).toMatchObject({ error: 'longer than 50 bytes (108), the most one record may take' });
    // Its first KiB (here: all of it that was kept before the limit), marked as cut.
    expect(records[1]!.raw).toMatch(/…$/);
    expect(long.startsWith(records[1]!.raw!.slice(0, -1))).toBe(true);
    expect(records[1]!.raw!.length).toBeGreaterThan(40);
    expect(records[2]).toMatchObject({ value: { q: 'b' } });
    expect(records[3]).toMatchObject({ error: expect.stringContaining('longer than 50 bytes') });
    // Offsets stay exact: the end of each line, the last one without a newline.
    expect(records.map((r) => r.offset)).toEqual([10, 10 + 109, 10 + 109 + 10, Buffer.byteLength(text)]);
  });

  it('NDJSON: a line of exactly the limit parses', async () => {
    const line = `{"q":"${'x'.repeat(42)}"}`; // 50 bytes
    const { records } = await parse(parseNdjson, `${line}\n`, 50);
    expect(records).toEqual([{ value: { q: 'x'.repeat(42) }, line: 1, offset: 51 }]);
  });

  it('CSV: a longer record is fatal, naming its line', async () => {
    const { records, error } = await parse(parseCsv, `id,q\n1,a\n2,${'x'.repeat(100)}\n3,c\n`, 50);
    expect(records.map((r) => r.value)).toEqual([{ id: '1', q: 'a' }]);
    expect(error?.message).toBe('line 3: a record longer than 50 bytes, the most one record may take');
  });

  it('JSON arrays: a longer element (or string) is fatal, naming its line', async () => {
    for (const big of [`{"q":"${'x'.repeat(100)}"}`, `"${'x'.repeat(100)}"`, `{"q":[${'1,'.repeat(60)}1]}`]) {
      const { records, error } = await parse(parseJsonArray, `[{"q":"a"},\n${big}]`, 50);
      expect(records.map((r) => r.value)).toEqual([{ q: 'a' }]);
      expect(error?.message).toBe('line 2: a record longer than 50 bytes, the most one record may take');
    }
  });
});
