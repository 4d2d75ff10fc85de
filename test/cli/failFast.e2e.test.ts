import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/runCli.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { captureStream } from '../helpers/captureStream.js';

const KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;
let emulator: Emulator;
let dir: string;
let input: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 2 } });
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-failfast-'));
  input = join(dir, 'in.ndjson');
  const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `t${i}` }));
  await writeFile(input, `${lines.join('\n')}\n`);
});
afterAll(() => emulator.close());

async function cli(args: string[]) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await runCli(
    args,
    {
      env: { DIFY_API_KEY: KEY },
      stdout: stdout.stream,
      stderr: stderr.stream,
      drainSignal: new AbortController().signal,
      abortSignal: new AbortController().signal,
    },
    '0.0.0-test',
  );
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('dify-batch run: what retries cannot fix is exit 1, the cause on the first line', () => {
  it('a base URL without /v1: at most --concurrency calls, then the URL and the likely cause', async () => {
    emulator.reset();
    const base = emulator.url.replace(/\/v1$/, '');
    const output = join(dir, 'route.ndjson');
    const { code, stderr } = await cli(['run', '-i', input, '-o', output, '--base-url', base, '-c', '4']);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      new RegExp(
        `^dify-batch: 404 from ${base.replaceAll('.', '\\.')}/workflows/run: the base URL probably lacks /v1 `,
      ),
    );
    expect(stderr.split('\n')[1]).toMatch(/^stopped by a fatal error: /);
    // At most --concurrency calls, plus the preflight's GET /info (a 404 here: it stops there) and the
    // file inputs' own GET /parameters, asked again since the preflight read none.
    expect(emulator.stats().requests).toBeLessThanOrEqual(4 + 2);
  });

  it('Dify unreachable for longer than --max-outage-ms: exit 1, "Dify unreachable since …"', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const output = join(dir, 'down.ndjson');
    const { code, stderr } = await cli([
      'run',
      '-i',
      input,
      '-o',
      output,
      '--base-url',
      `http://127.0.0.1:${port}/v1`,
      '--max-outage-ms',
      '800',
      '--no-progress',
    ]);
    expect(code).toBe(1);
    expect(stderr.split('\n')[0]).toMatch(
      /^dify-batch: Dify unreachable since \d{4}-\d\d-\d\dT[\d:.]+Z \(longer than maxOutageMs = 800 ms\)$/,
    );
    expect(stderr).toContain('stopped by a fatal error: ');
    expect(await readFile(output, 'utf8').catch(() => '')).toBe('');
  }, 20_000);

  it('--no-adaptive is accepted, and the summary line counts ambiguous retries', async () => {
    const output = join(dir, 'fixed.ndjson');
    const { code, stderr } = await cli([
      'run',
      '-i',
      input,
      '-o',
      output,
      '--base-url',
      emulator.url,
      '--no-adaptive',
      '--record-timeout-ms',
      '60000',
      '--no-progress',
    ]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/100 succeeded, 0 failed, 0 retries;/);
  });
});
