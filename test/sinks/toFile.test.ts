import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { toFile } from '../../src/sinks/toFile.js';
import { fromFile } from '../../src/sources/fromFile.js';
import { collect, isLinux, makeTempDir, openDescriptors, settle } from '../sources/fixtures.js';
import { csvRowOf, failure, success } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(() => cleanup());

const RESULTS: ItemResult[] = [
  success(0, { answer: 'plain' }),
  failure(1, 'quote " comma , newline \n done'),
  success(2, { nested: { list: [1, 'two'] }, text: 'a,b\n"c"' }),
];

describe('toFile', () => {
  it('writes NDJSON (.ndjson and .jsonl) that reads back as the same results', async () => {
    for (const name of ['out.ndjson', 'out.jsonl']) {
      const path = join(dir, name);
      const sink = toFile(path);
      await sink.write(RESULTS.slice(0, 1));
      await sink.write(RESULTS.slice(1));
      await sink.close();
      const items = await collect(fromFile(path, { idField: 'id' }));
      expect(items.map((i) => i.inputs)).toEqual(RESULTS);
      expect(items.map((i) => i.id)).toEqual(['r0', 'r1', 'r2']);
    }
  });

  it('writes a valid JSON array incrementally, and [] for an empty run', async () => {
    const path = join(dir, 'out.json');
    const sink = toFile(path);
    for (const result of RESULTS) await sink.write([result]);
    await sink.close();
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(RESULTS);
    expect((await collect(fromFile(path))).map((i) => i.inputs)).toEqual(RESULTS);

    const empty = join(dir, 'empty.json');
    await toFile(empty).close();
    expect(JSON.parse(await readFile(empty, 'utf8'))).toEqual([]);
  });

  it('writes CSV that round-trips through fromFile (outputs JSON-encoded, errors in two columns)', async () => {
    const path = join(dir, 'out.csv');
    const sink = toFile(path);
    await sink.write(RESULTS);
    await sink.close();
    const rows = (await collect(fromFile(path, { idField: 'id' }))).map((i) => i.inputs);
    expect(rows).toEqual(RESULTS.map(csvRowOf));
  });

  it('honours an explicit format over the extension', async () => {
    const path = join(dir, 'out.txt');
    const sink = toFile(path, { format: 'json' });
    await sink.write([success(0)]);
    await sink.close();
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual([success(0)]);
  });

  it('fails writes with ERR_SINK_WRITE naming the path when the file cannot be created', async () => {
    const path = join(dir, 'missing', 'out.ndjson');
    const sink = toFile(path);
    const error = await sink.write([success(0)]).catch((e) => e);
    expect(error.code).toBe('ERR_SINK_WRITE');
    expect(error.message).toContain(path);
    expect(error.message).toContain('ENOENT');
    await expect(sink.close()).rejects.toBe(error);
  });

  it('rejects bad paths and formats synchronously', () => {
    expect(() => toFile(join(dir, 'out.parquet'))).toThrow(/Expected `format`/);
    expect(() => toFile(join(dir, 'out.ndjson.gz'))).toThrow(/Expected `path`/);
    expect(() => toFile('')).toThrow(/Expected `path`/);
  });

  describe('lazy creation', () => {
    it('leaves an existing file untouched until the first result is written', async () => {
      const path = join(dir, 'out.json');
      await writeFile(path, 'precious\n');
      const before = await stat(path);
      const sink = toFile(path);
      await sink.write([]);
      expect(await readFile(path, 'utf8')).toBe('precious\n');
      expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
      await sink.write([success(0)]);
      await sink.close();
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual([success(0)]);
    });

    it('a failed close with nothing written leaves an existing file intact and creates no missing one', async () => {
      const existing = join(dir, 'out.csv');
      await writeFile(existing, 'precious\n');
      await toFile(existing).close({ failed: true });
      expect(await readFile(existing, 'utf8')).toBe('precious\n');
      const missing = join(dir, 'never.ndjson');
      await toFile(missing).close({ failed: true });
      await expect(access(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('a successful close with nothing written writes the empty document, replacing what was there', async () => {
      for (const [name, text] of [
        ['empty.ndjson', ''],
        ['empty.json', '[]\n'],
        ['empty.csv', 'seq,id,ok,attempts,latencyMs,outputs,error_code,error_message\n'],
      ] as const) {
        const path = join(dir, name);
        await writeFile(path, 'stale\n');
        await toFile(path).close();
        expect(await readFile(path, 'utf8')).toBe(text);
      }
    });

    it('a failed close after results were written still finishes the document', async () => {
      const path = join(dir, 'partial.json');
      const sink = toFile(path);
      await sink.write([success(0), success(1)]);
      await sink.close({ failed: true });
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual([success(0), success(1)]);
    });

    it('bad options throw at call time without touching the file', async () => {
      const path = join(dir, 'out.ndjson');
      await writeFile(path, 'precious\n');
      expect(() => toFile(path, { format: 'xml' as never })).toThrow(/Expected `format`/);
      expect(() => toFile(path, { signal: 'no' as never })).toThrow(/Expected `signal`/);
      expect(await readFile(path, 'utf8')).toBe('precious\n');
    });

    it('an aborted sink never creates its file', async () => {
      const path = join(dir, 'aborted.ndjson');
      const controller = new AbortController();
      const sink = toFile(path, { signal: controller.signal });
      controller.abort(new Error('stop'));
      await expect(sink.write([success(0)])).rejects.toThrow('stop');
      await expect(sink.close()).rejects.toThrow('stop');
      await expect(access(path)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  describe.skipIf(!isLinux)('file handle', () => {
    it('is not opened before the first write', async () => {
      const path = join(dir, 'out.ndjson');
      await writeFile(path, '');
      const sink = toFile(path);
      expect(await openDescriptors(path)).toEqual([]);
      await sink.write([success(0)]);
      expect(await openDescriptors(path)).toHaveLength(1);
      await sink.close();
    });

    it('is closed when close() resolves', async () => {
      const path = join(dir, 'out.ndjson');
      const sink = toFile(path);
      await sink.write([success(0)]);
      expect(await openDescriptors(path)).toHaveLength(1);
      await sink.close();
      expect(await openDescriptors(path)).toEqual([]);
    });

    it('is closed on abort, and later calls reject with the reason', async () => {
      const path = join(dir, 'out.ndjson');
      const controller = new AbortController();
      const sink = toFile(path, { signal: controller.signal });
      await sink.write([success(0)]);
      const reason = new Error('shutdown');
      controller.abort(reason);
      await settle();
      expect(await openDescriptors(path)).toEqual([]);
      await expect(sink.write([success(1)])).rejects.toBe(reason);
      await expect(sink.close()).rejects.toBe(reason);
    });
  });
});
