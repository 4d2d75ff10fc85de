import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import type { SinkFormat } from '../../src/sinks/SinkFormat.js';
import { toDeadLetter } from '../../src/sinks/toDeadLetter.js';
import { toFile } from '../../src/sinks/toFile.js';
import { makeTempDir } from '../sources/fixtures.js';
import { failure, success } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(() => cleanup());

const resultsOf = (n: number): ItemResult[] =>
  Array.from({ length: n }, (_, i) =>
    i % 3 === 2 ? failure(i, `bad, "${i}"\nline`) : success(i, { answer: `a${i}` }),
  );

function readSeqs(text: string, format: SinkFormat): number[] {
  if (format === 'json') return (JSON.parse(text) as { seq: number }[]).map((r) => r.seq);
  if (format === 'ndjson')
    return text
      .trimEnd()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
  return (parse(text, { columns: true }) as { seq: string }[]).map((r) => Number(r.seq));
}

describe('toFile resumeAt', () => {
  it('continues a file cut at any acknowledged batch, torn tail or trailer dropped, framing intact', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<SinkFormat>('ndjson', 'json', 'csv'),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.string({ maxLength: 30 }),
        async (format, batchSizes, cutAt, torn) => {
          const total = batchSizes.reduce((a, b) => a + b, 0);
          const results = resultsOf(total);
          const path = join(dir, `out-${Math.random().toString(36).slice(2)}.${format}`);
          // A first run writes some batches, noting bytesWritten after each, then "crashes".
          const first = toFile(path);
          const marks = [0];
          let next = 0;
          const done = cutAt % (batchSizes.length + 1);
          for (const size of batchSizes.slice(0, done)) {
            await first.write(results.slice(next, next + size));
            next += size;
            marks.push(first.bytesWritten!);
          }
          await first.close(); // the trailer, as if the crash came after it
          await appendFile(path, torn); // and a torn write after that
          const resumed = toFile(path, { resumeAt: marks[marks.length - 1] });
          await resumed.write(results.slice(next));
          await resumed.close();
          expect(readSeqs(await readFile(path, 'utf8'), format)).toEqual(results.map((r) => r.seq));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses an offset past the end of the file', async () => {
    const path = join(dir, 'short.ndjson');
    const sink = toFile(path);
    await sink.write(resultsOf(1));
    await sink.close();
    expect(() => toFile(path, { resumeAt: 10_000 })).toThrow(/resumeAt/);
  });

  it('dead letters continue with the header of the file (CSV columns passed back in)', async () => {
    const path = join(dir, 'dead.csv');
    const entry = (seq: number) => ({
      item: { seq, id: `r${seq}`, inputs: { id: `r${seq}`, q: `q${seq}` } },
      result: failure(seq, 'nope') as Extract<ItemResult, { ok: false }>,
    });
    const first = toDeadLetter(path);
    await first.write([entry(0)]);
    const bytes = first.bytesWritten!;
    await first.close();
    const resumed = toDeadLetter(path, { resumeAt: bytes, columns: ['id', 'q'] });
    await resumed.write([entry(1)]);
    await resumed.close();
    const rows = parse(await readFile(path, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.id)).toEqual(['r0', 'r1']);
    expect(rows.map((r) => JSON.parse(r._error!).seq)).toEqual([0, 1]);
  });
});
