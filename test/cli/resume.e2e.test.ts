import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkpointPaths, FileCheckpoint } from '../../src/checkpoint/FileCheckpoint.js';
import { runCli } from '../../src/cli/runCli.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { captureStream } from '../helpers/captureStream.js';

const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;
const RECORDS = 120;

let emulator: Emulator;
let dir: string;
let input: string;
let output: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'uniform', minMs: 5, maxMs: 25 } });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  emulator.reset();
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-resume-'));
  input = join(dir, 'in.ndjson');
  output = join(dir, 'out.csv');
  await writeFile(
    input,
    `${Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: `r${i}`, text: `t${i}` })).join('\n')}\n`,
  );
});

/** Runs the CLI in-process; `drainAfterMs` plays a first Ctrl-C (stop reading, finish, keep the checkpoint). */
async function cli(args: string[], drainAfterMs?: number) {
  const stderr = captureStream();
  const drain = new AbortController();
  const timer = drainAfterMs === undefined ? undefined : setTimeout(() => drain.abort(), drainAfterMs);
  const code = await runCli(
    ['run', ...args],
    {
      env: { DIFY_BASE_URL: emulator.url, DIFY_API_KEY: WORKFLOW_KEY },
      stdout: captureStream().stream,
      stderr: stderr.stream,
      drainSignal: drain.signal,
      abortSignal: new AbortController().signal,
    },
    '0.0.0-test',
  );
  clearTimeout(timer);
  return { code, stderr: stderr.text() };
}

const base = () => ['-i', input, '-o', output, '-c', '4', '--no-progress', '--id-field', 'id'];

async function interrupted(): Promise<void> {
  const first = await cli(base(), 150);
  expect(first.code, first.stderr).toBe(130);
  expect(existsSync(checkpointPaths(output).checkpoint)).toBe(true);
}

describe('run --resume', () => {
  it('after an interrupted run, finishes the rest: CSV header once, every record once, in order', async () => {
    await interrupted();
    const before = (await readFile(output, 'utf8')).trimEnd().split('\n').length - 1;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(RECORDS);
    const resumed = await cli([...base(), '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resume: ${before} records already written`);
    const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('seq,id,ok,attempts,latencyMs,outputs,error_code,error_message');
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(
      Array.from({ length: RECORDS }, (_, i) => `r${i}`),
    );
    expect(await FileCheckpoint.load(checkpointPaths(output).checkpoint)).toMatchObject({ complete: true });
    expect(existsSync(checkpointPaths(output).journal)).toBe(false);
    // Each record was called once: nothing written was paid for twice.
    expect(Object.values(emulator.stats().callsPerInput ?? {}).every((n) => n === 1)).toBe(true);
    // Resuming a complete run (say, one killed just after it finished) has nothing left to do.
    const requests = emulator.stats().requests;
    const again = await cli([...base(), '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`is already complete (${RECORDS} records, 0 failed); nothing to do`);
    expect(emulator.stats().requests).toBe(requests);
  });

  it('refuses an input that changed since the checkpoint, naming what differs', async () => {
    await interrupted();
    await writeFile(input, `${await readFile(input, 'utf8')}{"id":"new"}\n`);
    const resumed = await cli([...base(), '--resume']);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(
      /^dify-batch: input changed since the checkpoint \(size\/mtime(\/hash)? differ\): /,
    );
    expect(resumed.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('refuses options that shape results differently, naming the option', async () => {
    await interrupted();
    const resumed = await cli([...base(), '--user', 'someone-else', '--resume']);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toContain(
      '--user differs from the checkpointed run ("dify-batch" then, "someone-else" now)',
    );
  });

  it('refuses an existing output without a checkpoint, and starts afresh when there is no output', async () => {
    await writeFile(output, 'seq,id\n0,x\n');
    const refused = await cli([...base(), '--resume']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('exists but has no checkpoint');
    expect(await readFile(output, 'utf8')).toBe('seq,id\n0,x\n');
    const fresh = await cli(['-i', input, '-o', join(dir, 'new.ndjson'), '--no-progress', '--resume']);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect((await readFile(join(dir, 'new.ndjson'), 'utf8')).trimEnd().split('\n')).toHaveLength(RECORDS);
  });

  it('a run stopped by a truncated JSON array resumes once the file is completed, nothing called twice', async () => {
    const json = join(dir, 'in.json');
    const text = `[\n${Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: `r${i}`, text: `t${i}` })).join(',\n')}\n]\n`;
    await writeFile(json, text.slice(0, Math.floor(text.length / 2)));
    const args = ['-i', json, '-o', output, '-c', '4', '--no-progress', '--id-field', 'id'];
    const stopped = await cli(args);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('--resume');
    // A record before the stopping point changed: refused.
    await writeFile(json, text.replace('"t1"', '"x1"'));
    const refused = await cli([...args, '--resume']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('input changed since the checkpoint');
    await writeFile(json, text); // the rest of the file arrives, the start as it was
    const resumed = await cli([...args, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      /changed after its first \d+ records \(where the last run stopped reading\)/,
    );
    const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(
      Array.from({ length: RECORDS }, (_, i) => `r${i}`),
    );
    expect(Object.values(emulator.stats().callsPerInput ?? {}).every((n) => n === 1)).toBe(true);
  });

  it('refuses to resume from stdin', async () => {
    const resumed = await cli(['-i', '-', '-o', output, '--no-progress', '--resume']);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toContain('stdin/stdout, pipes and devices cannot be resumed');
  });
});
