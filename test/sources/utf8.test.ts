import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromReadable } from '../../src/sources/fromReadable.js';
import { incompleteUtf8Tail, replaceInvalidUtf8 } from '../../src/sources/internal/utf8.js';
import { collect } from './fixtures.js';

/** `bytes` cut at random places, so multi-byte characters straddle chunks. */
function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of [...at, bytes.length]) {
    pieces.push(bytes.subarray(start, cut));
    start = cut;
  }
  return pieces;
}

describe('utf8', () => {
  it('replaceInvalidUtf8 leaves valid UTF-8 alone and agrees with isUtf8 (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.string({ unit: 'binary', maxLength: 16 }),
        (noise, text) => {
          const valid = Buffer.from(text, 'utf8');
          const found: number[] = [];
          expect(replaceInvalidUtf8(valid, 0, found)).toEqual(valid);
          expect(found).toEqual([]);
          const mixed = Buffer.concat([valid, noise]);
          const out = replaceInvalidUtf8(mixed, 100, found);
          expect(out.length).toBe(mixed.length); // one byte for one: offsets do not move
          expect(isUtf8(out)).toBe(true);
          expect(found.length === 0).toBe(isUtf8(mixed));
          for (const at of found) expect(out[at - 100]).toBe(0x3f);
        },
      ),
    );
  });

  it('rejects overlongs, surrogates and code points past U+10FFFF', () => {
    for (const bad of [
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80],
    ]) {
      const found: number[] = [];
      replaceInvalidUtf8(Buffer.from(bad), 0, found);
      expect(found.length, bad.join(' ')).toBeGreaterThan(0);
    }
  });

  it('incompleteUtf8Tail finds a character cut at the end of a chunk, and nothing else', () => {
    const euro = Buffer.from('a€', 'utf8'); // 61 E2 82 AC
    expect(incompleteUtf8Tail(euro)).toBe(0);
    expect(incompleteUtf8Tail(euro.subarray(0, 3))).toBe(2);
    expect(incompleteUtf8Tail(euro.subarray(0, 2))).toBe(1);
    expect(incompleteUtf8Tail(Buffer.from('abc'))).toBe(0);
    expect(incompleteUtf8Tail(Buffer.from('𝄞', 'utf8').subarray(0, 3))).toBe(3);
  });

  it.each(['json', 'ndjson', 'csv'] as const)(
    '%s: non-ASCII text split anywhere reads back unchanged; a record with bad bytes fails alone (property)',
    async (format) => {
      const text = fc.string({ unit: 'grapheme', maxLength: 6 });
      await fc.assert(
        fc.asyncProperty(
          fc.array(text, { minLength: 1, maxLength: 8 }),
          fc.option(fc.nat(), { nil: undefined }),
          fc.array(fc.nat(), { maxLength: 8 }),
          async (values, badAt, cuts) => {
            const bad = badAt === undefined ? -1 : badAt % values.length;
            const records = values.map((v, i) => {
              const json = JSON.stringify({ v });
              const body = format === 'csv' ? Buffer.from(`"${v.replaceAll('"', '""')}"`) : Buffer.from(json);
              // A lone continuation byte inside the value: never valid UTF-8.
              const at = format === 'csv' ? 1 : body.length - 2; // inside the quotes
              return i === bad
                ? Buffer.concat([body.subarray(0, at), Buffer.from([0x80]), body.subarray(at)])
                : body;
            });
            const sep = Buffer.from(format === 'json' ? ',\n' : '\n');
            const parts = records.flatMap((r, i) => (i === 0 ? [r] : [sep, r]));
            const file =
              format === 'json'
                ? Buffer.concat([Buffer.from('['), ...parts, Buffer.from(']')])
                : format === 'csv'
                  ? Buffer.concat([Buffer.from('v\n'), ...parts, Buffer.from('\n')])
                  : Buffer.concat([...parts, Buffer.from('\n')]);
            const items = await collect(fromReadable(Readable.from(chunked(file, cuts)), { format }));
            expect(items).toHaveLength(values.length);
            items.forEach((item, i) => {
              if (i === bad) expect(item.error?.message).toMatch(/not valid UTF-8 text$/);
              else expect(item.inputs).toEqual({ v: values[i] });
            });
          },
        ),
        { numRuns: 150 },
      );
    },
  );
});
