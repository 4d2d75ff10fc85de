import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/Item.js';
import type { ItemFailure } from '../../src/core/ItemResult.js';
import type { SinkFormat } from '../../src/sinks/SinkFormat.js';
import { type DeadLetterEntry, toDeadLetter } from '../../src/sinks/toDeadLetter.js';
import { fromFile } from '../../src/sources/fromFile.js';
import { collect } from '../sources/fixtures.js';

/** What went into the dead-letter file: a parsed record, or the text of one that never parsed. */
type Original = { readonly record: Record<string, unknown> } | { readonly raw: string };

const key = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'id'),
);
const failure = (seq: number): ItemFailure => ({
  seq,
  id: String(seq),
  ok: false,
  error: { code: 'ERR_DIFY_HTTP', message: `HTTP 500 for ${seq}`, status: 500, retryable: true },
  attempts: 3,
  latencyMs: 1,
});
// Own properties whatever the key (a literal or fast-check could set a prototype for `__proto__`).
const recordOf = (entries: readonly (readonly [string, unknown])[]) => Object.fromEntries(entries);

/** NDJSON and JSON: any JSON values; CSV: one set of columns and string values, as a CSV input has. */
function originals(format: SinkFormat): fc.Arbitrary<Original[]> {
  const raw = fc.string({ minLength: 1 }).map((text) => ({ raw: text }));
  if (format !== 'csv') {
    const record = fc
      .uniqueArray(fc.tuple(key, fc.jsonValue({ maxDepth: 2 })), { selector: ([k]) => k, maxLength: 4 })
      // Through JSON: fast-check's objects may lack a prototype; JSON.parse keeps `__proto__` as a field.
      .map((entries) => ({
        record: JSON.parse(JSON.stringify(recordOf(entries))) as Record<string, unknown>,
      }));
    return fc.array(fc.oneof(record, raw), { maxLength: 12 });
  }
  return fc.uniqueArray(key, { minLength: 1, maxLength: 4 }).chain((columns) => {
    const record = fc
      .array(fc.string(), { minLength: columns.length, maxLength: columns.length })
      .map((values) => ({ record: recordOf(columns.map((c, i) => [c, values[i]])) }));
    return fc.array(fc.oneof(record, raw), { maxLength: 12 });
  });
}

function entryOf(original: Original, seq: number): DeadLetterEntry {
  const inputs = 'raw' in original ? { _raw: original.raw } : original.record;
  const item: Item = { seq, id: String(seq), inputs };
  return { item, result: failure(seq) };
}

let dir: string;
let runs = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-dlrt-'));
});

describe('dead-letter files read back (property)', () => {
  it.each(['ndjson', 'json', 'csv'] as const)(
    '%s: parsed records come back as they were, without _error; unparseable ones stay error items with their text',
    async (format) => {
      await fc.assert(
        fc.asyncProperty(originals(format), async (all) => {
          const path = join(dir, `dead-${runs++}.${format}`);
          const sink = toDeadLetter(path);
          if (all.length > 0) await sink.write(all.map(entryOf));
          await sink.close();
          const items = await collect(fromFile(path));
          expect(items).toHaveLength(all.length);
          items.forEach((item, i) => {
            const original = all[i]!;
            if ('raw' in original) {
              expect(item.error?.code).toBe('ERR_SOURCE_PARSE');
              expect(item.error?.message).toContain('an unparseable record in a dead-letter file');
              expect(item.error?.message).toContain('HTTP 500');
              expect(item.inputs).toEqual({ _raw: original.raw });
            } else {
              expect(item.error).toBeUndefined();
              // toEqual plus the keys: toStrictEqual misreads an own `constructor` field as a class.
              expect(item.inputs).toEqual(original.record);
              expect(Object.keys(item.inputs)).toEqual(Object.keys(original.record));
              expect(Object.getPrototypeOf(item.inputs)).toBe(Object.prototype);
            }
          });
        }),
        { numRuns: 60 },
      );
    },
  );
});
