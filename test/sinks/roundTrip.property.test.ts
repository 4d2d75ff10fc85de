import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import type { SinkFormat } from '../../src/sinks/SinkFormat.js';
import { toWritable } from '../../src/sinks/toWritable.js';
import { fromReadable } from '../../src/sources/fromReadable.js';
import { collect } from '../sources/fixtures.js';
import { csvRowOf, MemoryWritable } from './fixtures.js';

const outputs = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
const result: fc.Arbitrary<ItemResult> = fc.oneof(
  fc.record({
    seq: fc.nat(),
    id: fc.string(),
    ok: fc.constant(true as const),
    outputs,
    attempts: fc.nat(5),
    latencyMs: fc.nat(),
  }),
  fc.record({
    seq: fc.nat(),
    id: fc.string(),
    ok: fc.constant(false as const),
    error: fc.record({
      code: fc.constantFrom('ERR_DIFY_HTTP', 'ERR_DIFY_TIMEOUT'),
      message: fc.string(),
      retryable: fc.boolean(),
    }),
    attempts: fc.nat(5),
    latencyMs: fc.nat(),
  }),
);
// Batches as the pipeline makes them: never empty.
const batches = fc.array(fc.array(result, { minLength: 1, maxLength: 5 }), { maxLength: 8 });

async function writeAll(format: SinkFormat, groups: ItemResult[][]): Promise<string> {
  const stream = new MemoryWritable();
  const sink = toWritable(stream, { format });
  for (const batch of groups) await sink.write(batch);
  await sink.close();
  return stream.text;
}

async function readAll(text: string, format: SinkFormat) {
  const items = await collect(fromReadable(Readable.from([text]), { format }));
  expect(items.map((i) => i.seq)).toEqual(items.map((_, i) => i));
  expect(items.filter((i) => i.error !== undefined)).toEqual([]);
  return items.map((i) => i.inputs);
}

describe('sinks round-trip (property)', () => {
  it.each(['ndjson', 'json'] as const)(
    '%s: what is written reads back as the same results, in order',
    async (format) => {
      await fc.assert(
        fc.asyncProperty(batches, async (groups) => {
          const text = await writeAll(format, groups);
          if (format === 'json') expect(JSON.parse(text)).toHaveLength(groups.flat().length);
          expect(await readAll(text, format)).toEqual(JSON.parse(JSON.stringify(groups.flat())));
        }),
        { numRuns: 100 },
      );
    },
  );

  it('csv: what is written reads back as the same rows, in order', async () => {
    await fc.assert(
      fc.asyncProperty(batches, async (groups) => {
        const rows = await readAll(await writeAll('csv', groups), 'csv');
        expect(rows).toEqual(groups.flat().map(csvRowOf));
      }),
      { numRuns: 100 },
    );
  });
});
