import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import type { Item } from '../../src/core/Item.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { fromFile } from '../../src/sources/fromFile.js';
import { runBinary } from '../helpers/runBinary.js';

/**
 * The bad-input corpus: every file a user might really feed in, broken in the usual ways. Each must
 * give one result per record (failed ones naming their line) or one clear fatal error naming the
 * line, through the library and through the CLI binary: never a crash, a hang or a silent change.
 */
interface Case {
  readonly file: string;
  readonly bytes: Buffer;
  /** Per record, in order: `true` for a good record, or the message of its ERR_SOURCE_PARSE item. */
  readonly records: readonly (true | RegExp)[];
  /** A fatal ERR_SOURCE_READ after `records`, and what its message says. */
  readonly fatal?: RegExp;
  /** More checks on the items fromFile yields. */
  readonly check?: (items: readonly Item[]) => void;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
const TEN_MB = 10 * 1024 * 1024;

/** Keys that could pollute prototypes stay plain own fields, and nothing global changed. */
function plainProtoKeys(items: readonly Item[]): void {
  const [first] = items;
  expect(Object.getPrototypeOf(first!.inputs)).toBe(Object.prototype);
  expect(Object.keys(first!.inputs)).toEqual(expect.arrayContaining(['__proto__', 'constructor']));
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

const CASES: readonly Case[] = [
  {
    file: 'malformed.ndjson',
    bytes: bytes('{"q":"a"}\n{"q": oops}\n{"q":"b"\n[1,2]\n"just text"\nnull\n{"q":"c"}\n'),
    records: [
      true,
      /^line 2: /,
      /^line 3: /,
      /^line 4: expected a JSON object, got an array$/,
      /^line 5: expected a JSON object, got a string$/,
      /^line 6: expected a JSON object, got null$/,
      true,
    ],
  },
  {
    file: 'no-final-newline.ndjson',
    bytes: bytes('{"q":"a"}\n{"q": "cut'),
    records: [true, /^line 2: /],
  },
  {
    file: 'invalid-utf8.ndjson',
    // Line 3 holds a real U+FFFD (valid UTF-8); lines 2 and 4 hold bytes that are not UTF-8.
    bytes: bytes('{"q":"a"}\n{"q":"b', [0xff], '"}\n{"q":"\uFFFD real"}\n{"q":"', [0xc3, 0x28], '"}\n'),
    records: [true, /^line 2: not valid UTF-8 text$/, true, /^line 4: not valid UTF-8 text$/],
    check: (items) => expect(items[2]!.inputs.q).toBe('\uFFFD real'),
  },
  {
    file: 'bom-crlf.ndjson',
    bytes: bytes([...BOM], '{"q":"a"}\r\n{"q":"b"}\r\n'),
    records: [true, true],
    check: (items) => expect(items.map((i) => i.position?.offset)).toEqual([3 + 11, 3 + 22]),
  },
  {
    file: 'proto.ndjson',
    bytes: bytes('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"q":"a"}\n'),
    records: [true],
    check: plainProtoKeys,
  },
  { file: 'empty.ndjson', bytes: bytes(''), records: [] },
  { file: 'blank-lines.ndjson', bytes: bytes('\n  \n\r\n'), records: [] },
  {
    file: 'huge-line.ndjson',
    bytes: bytes(`{"q":"${'x'.repeat(TEN_MB)}"}\n{"q":"after"}\n`),
    records: [true, true],
    check: (items) => expect((items[0]!.inputs.q as string).length).toBe(TEN_MB),
  },
  {
    file: 'truncated.json',
    bytes: bytes('[{"q":"a"},\n{"q":"b"},\n{"q":'),
    records: [true, true],
    fatal: /line 3: the JSON array ends before it is closed/,
  },
  {
    file: 'non-objects.json',
    bytes: bytes('[1,\n"x",\nnull,\n[],\n{"q":"a"}]'),
    records: [
      /^record 1 \(line 1\): expected a JSON object, got a number$/,
      /^record 2 \(line 2\): expected a JSON object, got a string$/,
      /^record 3 \(line 3\): expected a JSON object, got null$/,
      /^record 4 \(line 4\): expected a JSON object, got an array$/,
      true,
    ],
  },
  {
    file: 'invalid-utf8.json',
    // Bad bytes in a value, in a key, and a character cut off (E2 82 without its last byte).
    bytes: bytes('[{"q":"a"},\n{"q":"', [0xff], '"},\n{"', [0xe2, 0x82], '":1},\n{"q":"é€𝄞"}]'),
    records: [
      true,
      /^record 2 \(line 2\): not valid UTF-8 text$/,
      /^record 3 \(line 3\): not valid UTF-8 text$/,
      true,
    ],
    check: (items) => expect(items[3]!.inputs).toEqual({ q: 'é€𝄞' }),
  },
  {
    file: 'top-level-object.json',
    bytes: bytes('{"q":"a"}'),
    records: [],
    fatal: /line 1: expected a JSON array/,
  },
  { file: 'bom.json', bytes: bytes([...BOM], '[{"q":"a"}]'), records: [true] },
  { file: 'empty.json', bytes: bytes(''), records: [] },
  { file: 'empty-array.json', bytes: bytes('[]'), records: [] },
  {
    file: 'proto.json',
    bytes: bytes('[{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"q":"a"}]'),
    records: [true],
    check: plainProtoKeys,
  },
  {
    file: 'ragged.csv',
    bytes: bytes('id,q\n1,a\n2,b,extra\n3\n4,d\n'),
    records: [
      true,
      /^line 3: expected 2 fields \(as in the header\), got 3$/,
      /^line 4: expected 2 fields/,
      true,
    ],
    check: (items) => expect(items[1]!.inputs).toEqual({ _raw: '2,b,extra' }),
  },
  {
    file: 'unclosed-quote.csv',
    bytes: bytes('id,q\n1,a\n2,"never closed\n3,c\n'),
    records: [true],
    fatal: /line 3: a quoted field is opened in this record and never closed/,
  },
  {
    file: 'quote-in-field.csv',
    bytes: bytes('id,q\n1,a"b\n2,c\n'),
    records: [],
    fatal: /line 2: Invalid Opening Quote: a quote is found on field 1 at line 2/,
  },
  { file: 'header-only.csv', bytes: bytes('id,q\n'), records: [] },
  { file: 'empty.csv', bytes: bytes(''), records: [] },
  {
    file: 'bom.csv',
    bytes: bytes([...BOM], 'id,q\r\n1,a\r\n'),
    records: [true],
    check: (items) => expect(items[0]!.inputs).toEqual({ id: '1', q: 'a' }),
  },
  {
    file: 'invalid-utf8.csv',
    bytes: bytes('id,q\n1,a', [0xff], '\n2,é\n'),
    records: [/^line 2: not valid UTF-8 text$/, true],
    check: (items) => expect(items[1]!.inputs).toEqual({ id: '2', q: 'é' }),
  },
  {
    file: 'proto.csv',
    bytes: bytes('__proto__,constructor,q\nx,y,z\n'),
    records: [true],
    check: (items) => {
      plainProtoKeys(items);
      expect(Object.entries(items[0]!.inputs)).toEqual([
        ['__proto__', 'x'],
        ['constructor', 'y'],
        ['q', 'z'],
      ]);
    },
  },
];

let dir: string;
let emulator: Emulator;
const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-corpus-'));
  for (const c of CASES) await writeFile(join(dir, c.file), c.bytes);
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 0 } });
});
afterAll(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

describe('bad-input corpus', () => {
  it.each(CASES.map((c) => [c.file, c] as const))('%s through fromFile', async (_file, c) => {
    const items: Item[] = [];
    let fatal: unknown;
    try {
      for await (const item of fromFile(join(dir, c.file))) items.push(item);
    } catch (error) {
      fatal = error;
    }
    expect(items.map((i) => i.seq)).toEqual(c.records.map((_, i) => i));
    c.records.forEach((expected, i) => {
      const item = items[i]!;
      if (expected === true) {
        expect(item.error, `record ${i + 1}`).toBeUndefined();
      } else {
        expect(item.error?.code, `record ${i + 1}`).toBe('ERR_SOURCE_PARSE');
        expect(item.error?.message).toMatch(expected);
      }
    });
    if (c.fatal === undefined) {
      expect(fatal).toBeUndefined();
    } else {
      expect(fatal).toBeInstanceOf(DifyBatchError);
      expect(fatal).toMatchObject({ code: 'ERR_SOURCE_READ' });
      expect((fatal as Error).message).toMatch(c.fatal);
      expect((fatal as Error).message).not.toContain('\n');
    }
    c.check?.(items);
  });

  it.each(CASES.map((c) => [c.file, c] as const))('%s through the CLI binary', async (_file, c) => {
    const output = join(dir, `${c.file}.out.ndjson`);
    const { code, signal, stdout, stderr } = await runBinary(
      ['run', '-i', join(dir, c.file), '-o', output, '--no-progress', '--max-attempts', '1'],
      { DIFY_BASE_URL: emulator.url, DIFY_API_KEY: WORKFLOW_KEY },
    );
    expect(signal, 'the CLI hung and was killed').toBeNull();
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(`${stdout}${stderr}`).not.toContain(WORKFLOW_KEY);
    if (c.fatal !== undefined) {
      expect(code).toBe(1);
      expect(stderr).toMatch(c.fatal);
      return;
    }
    expect(code, stderr).toBe(c.records.every((r) => r === true) ? 0 : 2);
    const text = existsSync(output) ? await readFile(output, 'utf8') : '';
    const results =
      text === ''
        ? []
        : text
            .trimEnd()
            .split('\n')
            .map((l) => JSON.parse(l));
    expect(results.map((r) => r.seq)).toEqual(c.records.map((_, i) => i));
    c.records.forEach((expected, i) => {
      if (expected === true)
        expect(results[i].ok, `record ${i + 1}: ${JSON.stringify(results[i].error)}`).toBe(true);
      else expect(results[i].error.message).toMatch(expected);
    });
    // Prototype-looking keys reached Dify as data: the emulator's outputs echo the inputs it got.
    if (c.file.startsWith('proto.')) expect(results[0].outputs.result).toContain('"__proto__"');
  });
});
