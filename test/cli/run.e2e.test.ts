import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/runCli.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { captureStream } from '../helpers/captureStream.js';

const keyOf = (mode: string) => EMULATOR_DEFAULT_APPS.find((a) => a.mode === mode)!.key;
const WORKFLOW_KEY = keyOf('workflow');

let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'uniform', minMs: 0, maxMs: 8 } });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  emulator.configure({
    faults: {},
    faultsPerInputMax: Number.POSITIVE_INFINITY,
    maxActiveRequests: 0,
    rateLimitRps: 0,
  });
  emulator.reset();
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-cli-'));
});

async function cli(args: string[], env: Record<string, string> = {}) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await runCli(
    args,
    {
      env: { DIFY_BASE_URL: emulator.url, ...env },
      stdout: stdout.stream,
      stderr: stderr.stream,
      drainSignal: new AbortController().signal,
      abortSignal: new AbortController().signal,
    },
    '0.0.0-test',
  );
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function writeInput(name: string, lines: readonly string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}

async function readResults(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('dify-batch run (end to end against the emulator)', () => {
  it('one line per input, in order, transient faults retried to success, 4xx final, key never printed', async () => {
    emulator.configure({
      faults: { rate429: 0.1, rate500: 0.1, rate502Html: 0.1, rateReset: 0.05 },
      faultsPerInputMax: 2,
    });
    const records = Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, text: `hello ${i}` }));
    const lines = records.map((r) => JSON.stringify(r));
    lines[100] = JSON.stringify({ id: 'r100', text: 'bad', __fault: '400' }); // not a fault kind → still ok
    lines[150] = '{"id": "r150", "text": oops}';
    const input = await writeInput('in.ndjson', lines);
    const output = join(dir, 'out.ndjson');
    const errors = join(dir, 'errors.ndjson');
    const { code, stdout, stderr } = await cli(
      [
        'run',
        '-i',
        input,
        '-o',
        output,
        '-e',
        errors,
        '--id-field',
        'id',
        '-c',
        '16',
        '--max-attempts',
        '4',
        '--no-progress',
      ],
      { DIFY_API_KEY: WORKFLOW_KEY },
    );
    const results = await readResults(output);
    expect(results).toHaveLength(300);
    expect(results.map((r) => r.seq)).toEqual([...Array(300).keys()]);
    // The malformed line has no readable id: it falls back to its seq.
    expect(results.map((r) => r.id)).toEqual(records.map((r, i) => (i === 150 ? '150' : r.id)));
    const bad = results[150]!;
    expect(bad.ok).toBe(false);
    expect((bad.error as { message: string }).message).toMatch(/line 151/);
    for (const r of results) {
      if (r.seq === 150) continue;
      expect(r.ok).toBe(true);
      const original = JSON.parse(lines[r.seq as number]!) as Record<string, unknown>;
      expect(r.outputs).toEqual(emulatedOutputs('workflow', original));
    }
    expect(results.some((r) => (r.attempts as number) > 1)).toBe(true);
    expect(code).toBe(2);
    const dead = await readResults(errors);
    expect(dead).toHaveLength(1);
    expect(`${stdout}${stderr}${await readFile(output, 'utf8')}`).not.toContain(WORKFLOW_KEY);
  });

  it('records 4xx as failures without retrying them', async () => {
    const input = await writeInput('in.ndjson', ['{"q":"a"}', '{"q":"b"}']);
    const output = join(dir, 'out.ndjson');
    // A completion key on the workflow route: preflight refuses it before any run (one line, exit 1)…
    const refused = await cli(['run', '-i', input, '-o', output, '--no-progress'], {
      DIFY_API_KEY: keyOf('completion'),
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('GET /info says "completion"');
    expect(emulator.stats().requests).toBe(2);
    emulator.reset();
    // …and without preflight each call gets 400 not_workflow_app, final.
    const { code } = await cli(['run', '-i', input, '-o', output, '--no-progress', '--no-preflight'], {
      DIFY_API_KEY: keyOf('completion'),
    });
    const results = await readResults(output);
    expect(code).toBe(2);
    expect(results.map((r) => [r.ok, r.attempts, (r.error as { status: number }).status])).toEqual([
      [false, 1, 400],
      [false, 1, 400],
    ]);
    expect(emulator.stats().requests).toBe(2 + 1); // + the GET /parameters (file inputs)
  });

  it('exits 0 when every record succeeds, for chat in streaming mode, with CSV input', async () => {
    const input = await writeInput('in.csv', [
      'id,question,lang',
      '1,What is Dify?,en',
      '2,"Quoted, with comma",fr',
    ]);
    const output = join(dir, 'out.ndjson');
    const { code } = await cli(
      [
        'run',
        '-i',
        input,
        '-o',
        output,
        '--app',
        'chat',
        '--response-mode',
        'streaming',
        '--query-field',
        'question',
        '--id-field',
        'id',
        '--no-progress',
      ],
      { DIFY_API_KEY: keyOf('chat') },
    );
    expect(code).toBe(0);
    const results = await readResults(output);
    expect(results.map((r) => r.id)).toEqual(['1', '2']);
    expect(results[1]!.outputs).toEqual(
      emulatedOutputs('chat', { id: '2', lang: 'fr' }, 'Quoted, with comma'),
    );
    expect(typeof results[0]!.conversationId).toBe('string');
  });

  it('stops on configuration errors with one line and exit code 1', async () => {
    const input = await writeInput('in.ndjson', ['{"a":1}']);
    const missingKey = await cli(['run', '-i', input, '-o', join(dir, 'o.ndjson')]);
    expect(missingKey.code).toBe(1);
    expect(missingKey.stderr.trim().split('\n')).toHaveLength(1);
    expect(missingKey.stderr).toMatch(/--api-key/);
    const noFile = await cli(['run', '-i', join(dir, 'nope.ndjson'), '-o', join(dir, 'o.ndjson')], {
      DIFY_API_KEY: WORKFLOW_KEY,
    });
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toMatch(/cannot read --input/);
    const badFlag = await cli(['run', '-i', input, '-o', join(dir, 'o.ndjson'), '-c', 'zero'], {
      DIFY_API_KEY: WORKFLOW_KEY,
    });
    expect(badFlag.code).toBe(1);
    expect(badFlag.stderr).toMatch(/integer/);
  });

  it('a wrong API key stops the run with exit 1, the cause on the first line, the key printed nowhere', async () => {
    const secret = 'app-ThisIsAWrongSecretKey00';
    const input = await writeInput('in.ndjson', ['{"a":1}']);
    const output = join(dir, 'out.ndjson');
    const { code, stdout, stderr } = await cli([
      'run',
      '-i',
      input,
      '-o',
      output,
      '--api-key',
      secret,
      '--no-progress',
    ]);
    expect(code).toBe(1);
    // The cause first, on one line; then the summary of how far it got.
    expect(stderr.split('\n')[0]).toBe(
      'dify-batch: the API key was rejected (401 unauthorized: Access token is invalid)',
    );
    expect(stderr).toContain('stopped by a fatal error: ');
    const written = await readFile(output, 'utf8').catch(() => '');
    expect(written).toBe('');
    expect(stdout + stderr + written).not.toContain(secret);
  });
});

describe('the built binary', () => {
  it('prints its version and runs the demo', async () => {
    const exec = promisify(execFile);
    const main = join(import.meta.dirname, '../../dist/cli/main.js');
    const { stdout } = await exec(process.execPath, [main, '--version']);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const demo = await exec(process.execPath, [main, 'demo', '--no-progress'], { timeout: 60_000 });
    expect(demo.stderr).toMatch(/done: 401 records/);
    expect(demo.stderr).toMatch(/400 succeeded, 1 failed/);
  }, 90_000);
});
