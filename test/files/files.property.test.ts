import { statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { memorySink } from '../helpers/memorySink.js';

const KEY = 'app-FilePropertyWorkflowKey1';
const NAMES = ['a.txt', 'b.md', 'c.csv', 'd.png', 'e.pdf', 'f.md'];
let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({
    apps: [
      {
        key: KEY,
        mode: 'workflow',
        fileInputs: [
          { variable: 'doc', type: 'file' },
          { variable: 'more', type: 'file-list', maxLength: 10 },
        ],
      },
    ],
  });
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-files-prop-'));
  // e.pdf has the bytes of a.txt: the same content under another name is another upload.
  for (const [i, name] of NAMES.entries()) {
    await writeFile(
      join(dir, name),
      name === 'a.txt' || name === 'e.pdf' ? 'same bytes' : `${name}${'.'.repeat(i * 3)}`,
    );
  }
});
afterAll(async () => {
  await emulator.close();
});

describe('files: property', () => {
  it('whatever the records name, in any order and concurrency: one upload per distinct file, each record gets its own files', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            doc: fc.constantFrom(...NAMES),
            more: fc.array(fc.constantFrom(...NAMES), { maxLength: 3 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 8 }),
        async (records, concurrency) => {
          emulator.reset();
          const before = emulator.stats().uploads;
          const { sink, results } = memorySink<ItemResult>();
          await runBatch({
            source: fromAsyncIterable(records.map((r, i) => ({ id: `r${i}`, doc: r.doc, more: r.more }))),
            sink,
            dify: { baseUrl: emulator.url, apiKey: KEY },
            app: 'workflow',
            concurrency,
            files: { root: dir },
          });
          const distinct = new Set(records.flatMap((r) => [r.doc, ...r.more]));
          expect(emulator.stats().uploads - before).toBe(distinct.size);
          for (const result of results) {
            expect(result.ok).toBe(true);
            if (!result.ok) continue;
            const record = records[result.seq]!;
            const out = result.outputs as {
              doc: { filename: string; size: number };
              more?: { filename: string }[];
            };
            expect(out.doc.filename).toBe(record.doc);
            expect(out.doc.size).toBe(statSync(join(dir, record.doc)).size);
            expect((out.more ?? []).map((f) => f.filename)).toEqual(record.more);
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);
});
