import { getEventListeners } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import { fromFile } from '../../src/sources/fromFile.js';
import { collect, isLinux, makeTempDir, openDescriptors, settle } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(() => cleanup());

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const NDJSON = '{"id":"a","q":"x"}\n\n{"id":"b","q":"y"}\r\n{"id":"c","q":"é"}';
const JSON_ARRAY = '[\n  {"id":"a","q":"x"},\n  {"id":"b","q":"y"},\n  {"id":"c","q":"é"}\n]\n';
const CSV = 'id,q\na,x\nb,y\nc,é\n';

describe('fromFile', () => {
  describe.each([
    ['rows.ndjson', NDJSON],
    ['rows.jsonl', NDJSON],
    ['rows.json', JSON_ARRAY],
    ['rows.csv', CSV],
  ])('%s', (name, content) => {
    it('reads every record in order with dense seq', async () => {
      const path = await file(name, content);
      const items = await collect(fromFile(path));
      expect(items.map((i) => [i.seq, i.id, i.inputs])).toEqual([
        [0, '0', { id: 'a', q: 'x' }],
        [1, '1', { id: 'b', q: 'y' }],
        [2, '2', { id: 'c', q: 'é' }],
      ]);
      expect(items.every((i) => i.error === undefined && i.position?.partition === path)).toBe(true);
    });
    it('reads the same from a .gz file', async () => {
      const path = await file(`${name}.gz`, gzipSync(content));
      const items = await collect(fromFile(path, { idField: 'id' }));
      expect(items.map((i) => [i.seq, i.id, i.inputs.q])).toEqual([
        [0, 'a', 'x'],
        [1, 'b', 'y'],
        [2, 'c', 'é'],
      ]);
    });
  });

  it('gives NDJSON positions: 1-based lines (blank lines counted) and exact byte offsets after each line', async () => {
    const path = await file('rows.ndjson', NDJSON);
    const items = await collect(fromFile(path));
    const bytes = Buffer.from(NDJSON);
    expect(items.map((i) => i.position?.line)).toEqual([1, 3, 4]);
    // Offsets point just past each line's terminator (CRLF included), the last one at end of file.
    expect(items.map((i) => i.position?.offset)).toEqual([
      bytes.indexOf('\n') + 1,
      bytes.indexOf('{"id":"c"'),
      bytes.length,
    ]);
  });

  it('gives JSON array positions: the line an element starts on, the byte after it', async () => {
    const path = await file('rows.json', JSON_ARRAY);
    const items = await collect(fromFile(path));
    expect(items.map((i) => i.position?.line)).toEqual([2, 3, 4]);
    const bytes = Buffer.from(JSON_ARRAY);
    expect(items[2]?.position?.offset).toBe(bytes.indexOf('é"}') + Buffer.byteLength('é"}'));
  });

  it('gives CSV positions: the first line of a record (blank lines and quoted newlines counted), the byte after it', async () => {
    const csv = 'id,q\r\n\r\na,"multi\nline"\r\nb,y\r\n';
    const path = await file('rows.csv', csv);
    const items = await collect(fromFile(path, { idField: 'id' }));
    expect(items.map((i) => [i.id, i.inputs.q, i.position?.line, i.position?.offset])).toEqual([
      ['a', 'multi\nline', 3, csv.indexOf('b,y')],
      ['b', 'y', 5, csv.length],
    ]);
  });

  it('strips a UTF-8 BOM in every format', async () => {
    for (const [name, content, endOfFirst] of [
      ['bom.ndjson', NDJSON, '"x"}\n'],
      ['bom.json', JSON_ARRAY, '"x"}'],
      ['bom.csv', CSV, 'a,x\n'],
    ] as const) {
      const text = `\ufeff${content}`;
      const path = await file(name, text);
      const items = await collect(fromFile(path, { idField: 'id' }));
      expect(items.map((i) => i.id)).toEqual(['a', 'b', 'c']);
      // Offsets count the BOM's 3 bytes: they are file positions.
      const end = text.indexOf(endOfFirst) + endOfFirst.length;
      expect(items[0]?.position?.offset).toBe(Buffer.byteLength(text.slice(0, end)));
    }
  });

  it('turns a malformed NDJSON line into an error item naming the line, keeps its text, and goes on', async () => {
    const path = await file('bad.ndjson', '{"q":1}\n{"q":2,}\n\n[1,2]\n{"q":3}\n');
    const items = await collect(fromFile(path));
    expect(items.map((i) => [i.seq, i.error?.code])).toEqual([
      [0, undefined],
      [1, 'ERR_SOURCE_PARSE'],
      [2, 'ERR_SOURCE_PARSE'],
      [3, undefined],
    ]);
    expect(items[1]?.error?.message).toMatch(/^line 2: .*JSON/);
    expect(items[1]?.error?.retryable).toBe(false);
    expect(items[1]?.inputs).toEqual({ _raw: '{"q":2,}' });
    expect(items[2]?.error?.message).toBe('line 4: expected a JSON object, got an array');
    expect(items[2]?.inputs).toEqual({ _raw: '[1,2]' });
    expect(items[3]?.inputs).toEqual({ q: 3 });
  });

  it('turns a non-object JSON array element into an error item naming the record and line', async () => {
    const path = await file('bad.json', '[{"q":1},\n 42,\n "s", {"q":2}]');
    const items = await collect(fromFile(path));
    expect(items.map((i) => i.error?.message)).toEqual([
      undefined,
      'record 2 (line 2): expected a JSON object, got a number',
      'record 3 (line 3): expected a JSON object, got a string',
      undefined,
    ]);
    expect(items[1]?.inputs).toEqual({ _raw: '42' });
    expect(items[3]?.inputs).toEqual({ q: 2 });
  });

  it('turns a CSV row with the wrong field count into an error item with the raw row, and goes on', async () => {
    const path = await file('bad.csv', 'id,q\na,x\nb\nc,z,extra\nd,w\n');
    const items = await collect(fromFile(path, { idField: 'id' }));
    expect(items.map((i) => [i.seq, i.id, i.error?.code ?? i.inputs.q])).toEqual([
      [0, 'a', 'x'],
      [1, '1', 'ERR_SOURCE_PARSE'],
      [2, '2', 'ERR_SOURCE_PARSE'],
      [3, 'd', 'w'],
    ]);
    expect(items[1]?.error?.message).toBe('line 3: expected 2 fields (as in the header), got 1');
    expect(items[1]?.inputs).toEqual({ _raw: 'b' });
    expect(items[2]?.inputs).toEqual({ _raw: 'c,z,extra' });
  });

  it('uses idField for ids, and makes a record missing it an error item that keeps the record', async () => {
    const path = await file('ids.ndjson', '{"id":7}\n{"x":1}\n{"id":null}\n{"id":"q"}\n');
    const items = await collect(fromFile(path, { idField: 'id' }));
    expect(items.map((i) => i.id)).toEqual(['7', '1', '2', 'q']);
    expect(items[1]?.error).toEqual({
      code: 'ERR_SOURCE_PARSE',
      message: 'line 2: id field `id` is missing',
      retryable: false,
    });
    expect(items[1]?.inputs).toEqual({ x: 1 });
    expect(items[2]?.error?.message).toBe('line 3: id field `id` is missing');
  });

  it('skips the first N records but keeps their seq numbers (resume)', async () => {
    const path = await file('rows.ndjson', NDJSON);
    const items = await collect(fromFile(path, { skip: 2 }));
    expect(items.map((i) => [i.seq, i.inputs.id])).toEqual([[2, 'c']]);
  });

  it('is re-iterable: each iteration reads the file afresh', async () => {
    const source = fromFile(await file('rows.csv', CSV));
    expect((await collect(source)).length).toBe(3);
    expect((await collect(source)).length).toBe(3);
  });

  it('yields nothing for empty files', async () => {
    for (const name of ['e.ndjson', 'e.json', 'e.csv']) {
      expect(await collect(fromFile(await file(name, '')))).toEqual([]);
    }
    expect(await collect(fromFile(await file('e2.json', '  []  ')))).toEqual([]);
  });

  describe('fatal errors (ERR_SOURCE_READ naming the path)', () => {
    async function fatal(path: string, format?: 'json' | 'csv'): Promise<DifyBatchError> {
      const error = await collect(fromFile(path, format ? { format } : {})).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DifyBatchError);
      expect((error as DifyBatchError).code).toBe('ERR_SOURCE_READ');
      expect((error as DifyBatchError).message).toContain(path);
      return error as DifyBatchError;
    }
    it('a missing file', async () => {
      expect((await fatal(join(dir, 'nope.ndjson'))).message).toContain('ENOENT');
    });
    it('a truncated gzip file', async () => {
      const gz = gzipSync('{"q":1}\n'.repeat(1000));
      await fatal(await file('cut.ndjson.gz', gz.subarray(0, gz.length - 20)));
    });
    it('a JSON syntax error mid-array, after the good elements before it', async () => {
      const path = await file('broken.json', '[{"q":1},{"q":}]');
      const seen: unknown[] = [];
      const error = await (async () => {
        for await (const item of fromFile(path)) seen.push(item.inputs);
      })().catch((e: unknown) => e);
      expect(seen).toEqual([{ q: 1 }]);
      expect((error as DifyBatchError).code).toBe('ERR_SOURCE_READ');
    });
    it('JSON that is not an array, or has trailing garbage', async () => {
      expect((await fatal(await file('obj.json', '{"a":{"q":1}}'))).message).toContain(
        'expected a JSON array',
      );
      await fatal(await file('trail.json', '[{"q":1}] x'));
      await fatal(await file('cut.json', '[{"q":1},'));
    });
    it('a broken CSV quote, mid-file or unclosed at the end', async () => {
      await fatal(await file('quote.csv', 'a,b\n1,"x"y\n'));
      await fatal(await file('open.csv', 'a,b\n1,"x\n2,3\n'));
    });
  });

  it('rejects bad options synchronously', () => {
    expect(() => fromFile('rows.txt')).toThrow(/Expected `format`/);
    expect(() => fromFile('rows.csv', { skip: -1 })).toThrow(
      'Expected `skip` to be an integer from 0 and up, got `-1` (number)',
    );
    expect(() => fromFile('rows.csv', { format: 'xml' as 'csv' })).toThrow(/Expected `format`/);
    expect(() => fromFile('rows.csv', { idField: '' })).toThrow(/Expected `idField`/);
    expect(() => fromFile('')).toThrow(/Expected `path`/);
    expect(() => fromFile('rows.txt', { format: 'csv' })).not.toThrow();
  });

  describe.skipIf(!isLinux)('file handles and read-ahead', () => {
    const LINES = 200_000;
    let big: string;
    beforeEach(async () => {
      const line = (i: number) => `{"id":"r${i}","text":"some payload for record number ${i}"}\n`;
      big = await file('big.ndjson', Array.from({ length: LINES }, (_, i) => line(i)).join(''));
    });

    it('reads a bounded amount ahead while the consumer is idle', async () => {
      const iterator = fromFile(big)[Symbol.asyncIterator]();
      for (let i = 0; i < 10; i++) expect((await iterator.next()).value?.seq).toBe(i);
      await settle();
      const [open] = await openDescriptors(big);
      // One 64 KiB chunk, maybe two, out of ~12 MB.
      expect(open?.pos).toBeGreaterThan(0);
      expect(open?.pos).toBeLessThanOrEqual(128 * 1024);
      await iterator.return?.();
      await settle();
      expect(await openDescriptors(big)).toEqual([]);
    });

    it('closes a .gz file too when the consumer stops early', async () => {
      const gz = await file('big.ndjson.gz', gzipSync(await readFile(big)));
      const iterator = fromFile(gz)[Symbol.asyncIterator]();
      for (let i = 0; i < 10; i++) await iterator.next();
      await settle();
      const [open] = await openDescriptors(gz);
      expect(open?.pos).toBeLessThanOrEqual(128 * 1024);
      await iterator.return?.();
      await settle();
      expect(await openDescriptors(gz)).toEqual([]);
    });

    it('closes the file and rejects with the abort reason when aborted while the consumer is idle', async () => {
      const controller = new AbortController();
      const iterator = fromFile(big, { signal: controller.signal })[Symbol.asyncIterator]();
      await iterator.next();
      await iterator.next();
      expect(await openDescriptors(big)).toHaveLength(1);
      const reason = new Error('stop now');
      controller.abort(reason);
      await settle();
      expect(await openDescriptors(big)).toEqual([]);
      await expect(iterator.next()).rejects.toBe(reason);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    });

    it('removes its abort listener when the iteration ends normally', async () => {
      const controller = new AbortController();
      const items = await collect(fromFile(await file('s.ndjson', NDJSON), { signal: controller.signal }));
      expect(items).toHaveLength(3);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    });

    it('rejects at once and leaves no file open when the signal is already aborted', async () => {
      const reason = new Error('already');
      const iterator = fromFile(big, { signal: AbortSignal.abort(reason) })[Symbol.asyncIterator]();
      await expect(iterator.next()).rejects.toBe(reason);
      await settle();
      expect(await openDescriptors(big)).toEqual([]);
    });
  });
});
