import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/Item.js';
import type { ItemFailure } from '../../src/core/ItemResult.js';
import { type DeadLetterEntry, toDeadLetter } from '../../src/sinks/toDeadLetter.js';
import { fromFile } from '../../src/sources/fromFile.js';
import { collect, makeTempDir } from '../sources/fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(() => cleanup());

/** What the pipeline would produce for an item that failed (or, with `item.error`, never ran). */
function failed(item: Item): DeadLetterEntry {
  const result: ItemFailure = {
    seq: item.seq,
    id: item.id,
    ok: false,
    error: item.error ?? {
      code: 'ERR_DIFY_HTTP',
      message: 'HTTP 400',
      status: 400,
      difyCode: 'invalid_param',
      retryable: false,
    },
    attempts: item.error ? 0 : 2,
    latencyMs: 5,
  };
  return { item, result };
}

async function deadLetterOf(input: string, output: string): Promise<Item[]> {
  const items = await collect(fromFile(input, { idField: 'id' }));
  const sink = toDeadLetter(output);
  await sink.write(items.slice(0, 2).map(failed));
  await sink.write(items.slice(2).map(failed));
  await sink.close();
  return items;
}

describe('toDeadLetter', () => {
  it('writes the original NDJSON records plus _error; read back they give the same records and ids', async () => {
    const input = join(dir, 'in.ndjson');
    await writeFile(input, '{"id":"a","q":"x","n":1}\n{"id":"b","q":"y"}\n{"id":"c","q":"z"}\n');
    const items = await deadLetterOf(input, join(dir, 'dead.ndjson'));
    const back = await collect(fromFile(join(dir, 'dead.ndjson'), { idField: 'id' }));
    expect(back.map((i) => i.id)).toEqual(['a', 'b', 'c']);
    // Read back as input, `_error` is gone: the records are the originals.
    expect(back.map((i) => i.inputs)).toEqual(items.map((i) => i.inputs));
    const [first] = (await readFile(join(dir, 'dead.ndjson'), 'utf8')).split('\n');
    expect(JSON.parse(first!)._error).toEqual({
      seq: 0,
      id: 'a',
      code: 'ERR_DIFY_HTTP',
      message: 'HTTP 400',
      status: 400,
      difyCode: 'invalid_param',
      attempts: 2,
    });
  });

  it('keeps an unparseable line as _raw, next to its _error', async () => {
    const input = join(dir, 'in.ndjson');
    await writeFile(input, '{"id":"a"}\n{"id": oops\n{"id":"c"}\n');
    await deadLetterOf(input, join(dir, 'dead.ndjson'));
    const lines = (await readFile(join(dir, 'dead.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[1]).toEqual({
      _raw: '{"id": oops',
      _error: expect.objectContaining({ seq: 1, id: '1', code: 'ERR_SOURCE_PARSE', attempts: 0 }),
    });
    expect(lines[1]._error.message).toMatch(/^line 2: /);
  });

  it('replaces an earlier _error instead of nesting it (re-running a dead-letter file)', async () => {
    const input = join(dir, 'in.ndjson');
    await writeFile(input, '{"id":"a","_error":{"code":"OLD"}}\n');
    await deadLetterOf(input, join(dir, 'dead.ndjson'));
    const [again] = (await readFile(join(dir, 'dead.ndjson'), 'utf8')).split('\n');
    expect(JSON.parse(again!)).toEqual({
      id: 'a',
      _error: expect.objectContaining({ code: 'ERR_DIFY_HTTP' }),
    });
  });

  it('writes CSV with the input columns plus _error; read back the records and ids match', async () => {
    const input = join(dir, 'in.csv');
    await writeFile(input, 'id,q\na,"hello, world"\nb,"line\nbreak"\nc,z\n');
    const items = await deadLetterOf(input, join(dir, 'dead.csv'));
    const text = await readFile(join(dir, 'dead.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe('id,q,_error');
    const back = await collect(fromFile(join(dir, 'dead.csv'), { idField: 'id' }));
    expect(back.map((i) => i.error)).toEqual([undefined, undefined, undefined]);
    expect(back.map((i) => i.id)).toEqual(['a', 'b', 'c']);
    expect(back.map((i) => i.inputs)).toEqual(items.map((i) => i.inputs));
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(JSON.parse(rows[1]!._error!)).toMatchObject({ seq: 1, id: 'b', code: 'ERR_DIFY_HTTP' });
  });

  it('keeps a CSV row with the wrong field count in _error.raw, and the file well-formed', async () => {
    const input = join(dir, 'in.csv');
    await writeFile(input, 'id,q\na,x\nb,y,extra\nc,z\n');
    await deadLetterOf(input, join(dir, 'dead.csv'));
    const rows = parse(await readFile(join(dir, 'dead.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(rows[1]).toMatchObject({ id: '', q: '' });
    const error = JSON.parse(rows[1]!._error!);
    expect(error).toMatchObject({ code: 'ERR_SOURCE_PARSE', raw: 'b,y,extra' });
    expect(error.message).toMatch(/^line 3: /);
    // Read back as input, the row stays a parse failure carrying its text (it is never sent).
    const back = await collect(fromFile(join(dir, 'dead.csv')));
    expect(back.map((i) => i.error?.code)).toEqual([undefined, 'ERR_SOURCE_PARSE', undefined]);
    expect(back[1]?.inputs).toEqual({ _raw: 'b,y,extra' });
  });

  it('takes CSV columns from the option, putting other fields in _error.extra', async () => {
    const path = join(dir, 'dead.csv');
    const sink = toDeadLetter(path, { columns: ['id', 'q'] });
    const item: Item = { seq: 0, id: 'a', inputs: { id: 'a', q: 'x', more: 1 } };
    await sink.write([failed(item)]);
    await sink.close();
    const [row] = parse(await readFile(path, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(row).toMatchObject({ id: 'a', q: 'x' });
    expect(JSON.parse(row!._error!).extra).toEqual({ more: 1 });
    // Read back as input, the extra field is put back with its JSON type.
    const [again] = await collect(fromFile(path));
    expect(again?.inputs).toEqual({ id: 'a', q: 'x', more: 1 });
  });

  it('writes a JSON array for .json, and ndjson for an unknown extension', async () => {
    const input = join(dir, 'in.ndjson');
    await writeFile(input, '{"id":"a"}\n{"id":"b"}\n');
    await deadLetterOf(input, join(dir, 'dead.json'));
    expect(
      JSON.parse(await readFile(join(dir, 'dead.json'), 'utf8')).map((r: { id: string }) => r.id),
    ).toEqual(['a', 'b']);
    await deadLetterOf(input, join(dir, 'dead.txt'));
    const lines = (await readFile(join(dir, 'dead.txt'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(['a', 'b']);
  });

  it('writes nothing but an empty file (or []) when nothing failed', async () => {
    await toDeadLetter(join(dir, 'none.csv')).close();
    expect(await readFile(join(dir, 'none.csv'), 'utf8')).toBe('');
    await toDeadLetter(join(dir, 'none.json')).close();
    expect(await readFile(join(dir, 'none.json'), 'utf8')).toBe('[]\n');
  });

  it('leaves an existing file untouched when a failed run closes it with nothing written', async () => {
    const path = join(dir, 'dead.ndjson');
    await writeFile(path, '{"kept":true}\n');
    const dead = toDeadLetter(path);
    await dead.write([]);
    await dead.close({ failed: true });
    expect(await readFile(path, 'utf8')).toBe('{"kept":true}\n');
  });

  it('rejects bad options synchronously', () => {
    expect(() => toDeadLetter(join(dir, 'x.csv'), { columns: 'id' as unknown as string[] })).toThrow(
      /Expected `columns`/,
    );
    expect(() => toDeadLetter(join(dir, 'x.csv'), { format: 'tsv' as 'csv' })).toThrow(/Expected `format`/);
  });
});
