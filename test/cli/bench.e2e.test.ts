import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/runCli.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { captureStream } from '../helpers/captureStream.js';

const KEY = 'app-EmulatorWorkflowKey00001';
let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({
    latency: { kind: 'lognormal', p50Ms: 20, p99Ms: 80 },
    maxActiveRequests: 4,
  });
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-bench-'));
});
afterAll(() => emulator.close());

async function cli(args: string[]) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await runCli(
    ['bench', ...args],
    {
      env: { DIFY_BASE_URL: emulator.url, DIFY_API_KEY: KEY },
      stdout: stdout.stream,
      stderr: stderr.stream,
      drainSignal: new AbortController().signal,
      abortSignal: new AbortController().signal,
    },
    '0.0.0-test',
  );
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('dify-batch bench', () => {
  it('prints the call bound, the curve and a --concurrency within one step of the app limit; writes the SVG', async () => {
    const sample = join(dir, 'rows.ndjson');
    await writeFile(
      sample,
      '{"id":"a","text":"one"}\n{"id":"b","text":"two"}\n\n{"id":"c","text":"three"}\n',
    );
    const svg = join(dir, 'curve.svg');
    const { code, stdout, stderr } = await cli([
      '--sample',
      sample,
      '--max-concurrency',
      '16',
      '--duration',
      '20s',
      '--calls-per-worker',
      '10',
      '--svg',
      svg,
      '--yes',
    ]);
    expect(stderr).toContain('at most 310 calls'); // 10 × (1 + 2 + 4 + 8 + 16)
    expect(code).toBe(0);
    const recommended = /recommended: dify-batch run --concurrency (\d+)/.exec(stdout);
    expect(recommended).not.toBeNull();
    expect([2, 4, 8]).toContain(Number(recommended![1]));
    expect(stdout).not.toContain('--rps'); // a concurrency limit, not a quota
    expect(await readFile(svg, 'utf8')).toMatch(/^<svg[\s\S]*--concurrency \d+[\s\S]*<\/svg>\n$/);
    expect(stdout + stderr).not.toContain(KEY);
  });

  it('a sample line that is not JSON is a configuration error before any call', async () => {
    const sample = join(dir, 'bad.ndjson');
    await writeFile(sample, '{"id":"a"}\n{oops\n');
    emulator.reset();
    const { code, stderr } = await cli(['--sample', sample, '--yes']);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n').at(-1)).toBe(`dify-batch: --sample "${sample}" line 2: not valid JSON`);
    expect(emulator.stats().requests).toBe(0);
  });

  it('a bad --duration is refused by the flag parser', async () => {
    const { code, stderr } = await cli(['--sample', 'x', '--duration', 'soon']);
    expect(code).toBe(1);
    expect(stderr).toContain('expected a duration like 60s');
  });
});
