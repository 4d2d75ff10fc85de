/**
 * The CLI end to end against a real Dify 1.13.2, both modes: varied records come back exact and in
 * order (the app's output is its input; Dify strips NUL), and preflight fails the records that cannot
 * succeed at once, with Dify's own message, where streaming would otherwise wait minutes.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary } from '../helpers/runBinary.js';
import { realDify } from './realDify.js';

const dify = realDify();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-real-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Strings that break naive pipelines: scripts, joiners, line separators, sizes, blanks. */
const VARIED: readonly string[] = [
  'plain ascii',
  'ünïcödé ñ 中文 日本語 한국어',
  'مرحبا بالعالم — עברית',
  'family 👩‍👩‍👧‍👦 flag 🏳️‍🌈 skin 👍🏽',
  'crlf\r\nline two\r\n',
  'line\u2028separator\u2029paragraph',
  'nul\u0000inside',
  'x'.repeat(10_240),
  '',
  '   \t  ',
  'quotes " \' \\ / <script>',
  '\ufeffbom first',
];

async function runCli(
  name: string,
  records: readonly object[],
  args: readonly string[],
): Promise<{ code: number | null; stderr: string; lines: Record<string, unknown>[] }> {
  const input = join(dir, `${name}.ndjson`);
  const output = join(dir, `${name}.out.ndjson`);
  await writeFile(input, records.map((r) => JSON.stringify(r)).join('\n'));
  const run = await runBinary(
    ['run', '--input', input, '--output', output, '--no-progress', '--id-field', 'id', ...args],
    { DIFY_BASE_URL: dify.baseUrl, DIFY_API_KEY: dify.key },
    170_000,
  );
  const text = await readFile(output, 'utf8').catch(() => '');
  return {
    code: run.code,
    stderr: run.stderr,
    lines: text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe.each(['blocking', 'streaming'])('dify-batch run, %s', (mode) => {
  it('returns every varied record exact and in order (NUL stripped by Dify)', async () => {
    const records = Array.from({ length: 60 }, (_, i) => ({
      id: `r${i}`,
      query: VARIED[i % VARIED.length]!,
    }));
    const run = await runCli(`varied-${mode}`, records, ['--response-mode', mode, '-c', '8']);
    expect(run.code).toBe(0);
    expect(run.lines.map((l) => l.id)).toEqual(records.map((r) => r.id));
    for (const [i, line] of run.lines.entries()) {
      expect(line.ok).toBe(true);
      expect(line.outputs).toEqual({ result: records[i]!.query.replaceAll('\u0000', '') });
    }
    // The form declares only `query`: the `id` input is reported once.
    expect(run.stderr.match(/warning: the app's input form has no "id"/g)?.length).toBe(1);
  });
});

describe('preflight against the real server', () => {
  it('streaming: invalid records fail in under a second with Dify’s message, the others succeed', async () => {
    const records = [
      { id: 'ok', query: 'fine' },
      { id: 'number', query: 42 },
      { id: 'missing' },
      { id: 'null', query: null },
    ];
    const started = performance.now();
    const run = await runCli('preflight-streaming', records, ['--response-mode', 'streaming']);
    const seconds = (performance.now() - started) / 1000;
    expect(run.code).toBe(2);
    expect(run.lines.map((l) => [l.id, l.ok])).toEqual([
      ['ok', true],
      ['number', false],
      ['missing', false],
      ['null', false],
    ]);
    const messages = run.lines.slice(1).map((l) => (l.error as { message: string }).message);
    expect(messages[0]).toMatch(
      /^record number \(seq 1\): \(type 'text-input'\) query in input form must be a string$/,
    );
    expect(messages[1]).toBe('record missing (seq 2): query is required in input form');
    expect(messages[2]).toBe('record null (seq 3): query is required in input form');
    for (const line of run.lines.slice(1)) expect(line.attempts).toBe(0);
    // The whole CLI process, Node start-up included; without preflight this is minutes per record.
    expect(seconds).toBeLessThan(15);
    process.stderr.write(`preflight: 4 records (3 invalid) in streaming mode took ${seconds.toFixed(2)} s\n`);
  });

  it('max_length: over 256 characters fails without a call; 256 emoji (code points) pass', async () => {
    const run = await runBinaryWithKey256([
      { id: 'long', query: 'y'.repeat(257) },
      { id: 'emoji', query: '😀'.repeat(256) },
    ]);
    expect(run.lines.map((l) => [l.id, l.ok])).toEqual([
      ['long', false],
      ['emoji', true],
    ]);
    expect((run.lines[0]!.error as { message: string }).message).toBe(
      'record long (seq 0): query in input form must be less than 256 characters',
    );
  });

  it('--app chat with a workflow key is a configuration error: one line, exit 1, no run', async () => {
    const run = await runCli('mismatch', [{ id: 'a', query: 'x' }], ['--app', 'chat']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('GET /info says "workflow"');
    expect(run.stderr).not.toContain(dify.key);
  });

  it('--no-preflight sends the invalid record (blocking: Dify’s own 400 comes back)', async () => {
    const run = await runCli('no-preflight', [{ id: 'n', query: 42 }], ['--no-preflight']);
    expect(run.code).toBe(2);
    expect(run.lines[0]!.attempts).toBe(1);
    expect(JSON.stringify(run.lines[0]!.error)).toContain('query in input form must be a string');
  });
});

async function runBinaryWithKey256(
  records: readonly object[],
): Promise<{ lines: Record<string, unknown>[] }> {
  const input = join(dir, 'k256.ndjson');
  const output = join(dir, 'k256.out.ndjson');
  await writeFile(input, records.map((r) => JSON.stringify(r)).join('\n'));
  await runBinary(
    [
      'run',
      '--input',
      input,
      '--output',
      output,
      '--no-progress',
      '--id-field',
      'id',
      '--response-mode',
      'streaming',
    ],
    { DIFY_BASE_URL: dify.baseUrl, DIFY_API_KEY: dify.key256 },
    60_000,
  );
  const text = await readFile(output, 'utf8');
  return {
    lines: text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
