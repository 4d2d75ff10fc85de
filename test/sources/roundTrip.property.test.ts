import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromReadable } from '../../src/sources/fromReadable.js';
import type { SourceFormat } from '../../src/sources/SourceFormat.js';
import { collect } from './fixtures.js';

/** Cuts `bytes` at the given (sorted, deduplicated) positions, so chunk boundaries fall anywhere. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) pieces.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return pieces;
}

/** Reads `text` back in random chunks; checks dense seq, no errors, and positions when given. */
async function readBack(
  text: string,
  format: SourceFormat,
  cuts: number[],
  positions?: { line?: number; offset: number }[],
) {
  const items = await collect(fromReadable(Readable.from(chunked(Buffer.from(text), cuts)), { format }));
  expect(items.map((i) => i.seq)).toEqual(items.map((_, i) => i));
  expect(items.filter((i) => i.error !== undefined)).toEqual([]);
  if (positions !== undefined) expect(items.map((i) => i.position)).toEqual(positions);
  return items.map((i) => i.inputs);
}

/** Where each of `records` (texts laid end to end after `prefix`) starts (line) and ends (byte). */
function layout(prefix: string, records: string[]): { line: number; offset: number }[] {
  let text = prefix;
  return records.map((record) => {
    const line = text.split('\n').length;
    text += record;
    return { line, offset: Buffer.byteLength(text) };
  });
}

const jsonRecords = fc.array(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), {
  maxLength: 30,
});
const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('sources round-trip (property)', () => {
  it('NDJSON: records read back equal, in order, with dense seq, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(jsonRecords, cuts, fc.boolean(), async (records, at, crlf) => {
        const lines = records.map((r) => JSON.stringify(r) + (crlf ? '\r\n' : '\n'));
        const read = await readBack(lines.join(''), 'ndjson', at, layout('', lines));
        expect(read).toEqual(JSON.parse(JSON.stringify(records)));
      }),
      { numRuns: 150 },
    );
  });

  it('JSON array: records read back equal, in order, with dense seq, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(jsonRecords, cuts, fc.boolean(), async (records, at, pretty) => {
        const text = JSON.stringify(records, null, pretty ? 2 : undefined);
        // Compact, element i ends after `[`, the elements before it, their commas and itself.
        const elements = records.map((r, i) => (i === 0 ? '[' : ',') + JSON.stringify(r));
        const positions = pretty
          ? undefined
          : layout('', elements).map(({ offset }) => ({ line: 1, offset }));
        expect(await readBack(text, 'json', at, positions)).toEqual(JSON.parse(text));
      }),
      { numRuns: 150 },
    );
  });

  it('CSV: records read back equal, in order, with dense seq, however the bytes are chunked', async () => {
    const csvCase = fc
      .uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 4 })
      .chain((columns) =>
        fc.record({
          columns: fc.constant(columns),
          rows: fc.array(fc.tuple(...columns.map(() => fc.string({ unit: 'binary', maxLength: 8 }))), {
            maxLength: 25,
          }),
        }),
      );
    await fc.assert(
      fc.asyncProperty(csvCase, cuts, fc.boolean(), async ({ columns, rows }, at, crlf) => {
        const record_delimiter = crlf ? 'windows' : 'unix';
        const header = stringify([columns], { record_delimiter });
        const texts = rows.map((row) => stringify([row], { record_delimiter }));
        const expected = rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
        expect(await readBack(header + texts.join(''), 'csv', at, layout(header, texts))).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });
});
