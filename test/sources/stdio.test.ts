import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from './fixtures.js';

const repo = resolve(import.meta.dirname, '../..');

// The child reads stdin with fromFile('-'), writes one result per item with toFile('-'), then
// proves neither stdin nor stdout was closed by the source or the sink.
const CHILD = `
import { fromFile } from './src/sources/fromFile.js';
import { toFile } from './src/sinks/toFile.js';
const format = process.argv[2];
const sink = toFile('-', { format: 'json' });
for await (const item of fromFile('-', format ? { format, idField: 'id' } : { idField: 'id' })) {
  await sink.write([{ seq: item.seq, id: item.id, ok: item.error === undefined, attempts: 0, latencyMs: 0,
    ...(item.error ? { error: item.error } : { outputs: item.inputs }) }]);
  if (item.seq === 1) break;
}
await sink.close();
process.stdout.write('\\nstdin destroyed: ' + process.stdin.destroyed + ', stdout writable: ' + process.stdout.writable + '\\n');
`;

let script: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const temp = await makeTempDir();
  cleanup = temp.cleanup;
  script = join(temp.dir, 'child.mjs');
  await build({
    stdin: { contents: CHILD, resolveDir: repo, loader: 'ts', sourcefile: 'child.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: script,
    logLevel: 'silent',
  });
});
afterAll(() => cleanup());

function runChild(input: string, format?: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = execFile(
      process.execPath,
      [script, ...(format ? [format] : [])],
      (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout)),
    );
    child.stdin?.end(input);
  });
}

describe('stdin and stdout (`-`)', () => {
  it('reads NDJSON from stdin by default and writes a JSON array to stdout without closing either', async () => {
    const out = await runChild('{"id":"a","q":1}\nnot json\n{"id":"c"}\n');
    const [json, tail] = out.split('\nstdin destroyed: ');
    expect(JSON.parse(json ?? '')).toEqual([
      { seq: 0, id: 'a', ok: true, outputs: { id: 'a', q: 1 }, attempts: 0, latencyMs: 0 },
      {
        seq: 1,
        id: '1',
        ok: false,
        error: expect.objectContaining({
          code: 'ERR_SOURCE_PARSE',
          message: expect.stringMatching(/^line 2: /),
        }),
        attempts: 0,
        latencyMs: 0,
      },
    ]);
    expect(tail).toBe('false, stdout writable: true\n');
  });

  it('reads CSV from stdin with an explicit format', async () => {
    const out = await runChild('id,q\nx,hello\ny,world\nz,!\n', 'csv');
    const json = JSON.parse(out.split('\nstdin destroyed: ')[0] ?? '');
    expect(json.map((r: { id: string; outputs: unknown }) => [r.id, r.outputs])).toEqual([
      ['x', { id: 'x', q: 'hello' }],
      ['y', { id: 'y', q: 'world' }],
    ]);
  });
});
