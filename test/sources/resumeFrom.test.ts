import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/Item.js';
import { fromFile } from '../../src/sources/fromFile.js';
import { collect, makeTempDir } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(() => cleanup());

const record = fc.record({
  id: fc.string({ minLength: 1, maxLength: 6 }),
  text: fc.string({ maxLength: 12 }),
});

/** Where a run that finished `k` items continues: the position of item k − 1. */
function resumePoint(items: readonly Item[], k: number) {
  if (k === 0) return { seq: 0, line: 0, offset: 0 };
  const { line, offset } = items[k - 1]!.position!;
  return { seq: k, line: line!, offset: offset! };
}

describe('fromFile resumeFrom', () => {
  it('NDJSON seeks: the items after the point equal a full read, and the bytes before it are never read', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            record.map((r) => JSON.stringify(r)),
            fc.constant(''),
            fc.constant('{oops'),
          ),
          {
            maxLength: 25,
          },
        ),
        fc.nat(),
        async (lines, pick) => {
          const path = join(dir, `in-${Math.random().toString(36).slice(2)}.ndjson`);
          const text = `${lines.join('\n')}\n`;
          await writeFile(path, text);
          const items = await collect(fromFile(path));
          const k = pick % (items.length + 1);
          const from = resumePoint(items, k);
          // Garble everything before the point (newlines kept): a seek never sees it, a re-read would.
          const bytes = Buffer.from(text);
          for (let i = 0; i < from.offset; i++) if (bytes[i] !== 10) bytes[i] = 0x78;
          await writeFile(path, bytes);
          expect(await collect(fromFile(path, { resumeFrom: from }))).toEqual(items.slice(k));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('CSV seeks too: the header is read from the start, the rows between it and the point never', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), text: fc.string({ maxLength: 12 }) }),
          {
            maxLength: 20,
          },
        ),
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 3 }),
        fc.nat(),
        async (records, ragged, pick) => {
          const path = join(dir, `in-${Math.random().toString(36).slice(2)}.csv`);
          const rows = records.map((r, i) => (ragged.includes(i) ? [r.id, r.text, 'extra'] : [r.id, r.text]));
          const text = stringify([['id', 'text'], ...rows]);
          await writeFile(path, text);
          const items = await collect(fromFile(path));
          const k = pick % (items.length + 1);
          const from = resumePoint(items, k);
          const bytes = Buffer.from(text);
          for (let i = bytes.indexOf(10) + 1; i < from.offset; i++) if (bytes[i] !== 10) bytes[i] = 0x78;
          await writeFile(path, bytes);
          expect(await collect(fromFile(path, { resumeFrom: from }))).toEqual(items.slice(k));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('CSV, JSON arrays and gzip re-read and skip to the same items, seq continuing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 20 }),
        fc.constantFrom('csv', 'json', 'ndjson.gz'),
        fc.nat(),
        async (records, ext, pick) => {
          const path = join(dir, `in-${Math.random().toString(36).slice(2)}.${ext}`);
          if (ext === 'csv')
            await writeFile(path, stringify(records, { header: true, columns: ['id', 'text'] }));
          else if (ext === 'json') await writeFile(path, JSON.stringify(records, null, 1));
          else await writeFile(path, gzipSync(records.map((r) => `${JSON.stringify(r)}\n`).join('')));
          const items = await collect(fromFile(path));
          const k = pick % (items.length + 1);
          const resumed = await collect(fromFile(path, { resumeFrom: resumePoint(items, k) }));
          expect(resumed).toEqual(items.slice(k));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects stdin and malformed points before reading', () => {
    expect(() => fromFile('-', { resumeFrom: { seq: 1, line: 1, offset: 3 } })).toThrow(/stdin/);
    expect(() => fromFile('x.ndjson', { resumeFrom: { seq: -1, line: 0, offset: 0 } })).toThrow(/resumeFrom/);
  });
});
