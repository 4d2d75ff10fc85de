import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointPaths, FileCheckpoint } from '../../src/checkpoint/FileCheckpoint.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';

/**
 * The crash test of issue 7: the built CLI is SIGKILLed at random points and resumed with `--resume`
 * until it finishes. Whatever the kill points, the output has exactly one correct result per input in
 * input order, the dead letters match the failures, and each crash costs at most 2 × concurrency
 * repeated calls (the emulator counts calls per input id).
 */

const CLI = resolve('dist/cli/main.js');
const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;
const CONCURRENCY = 6;
const RECORDS = 240;

let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  // Latency makes a run last ~2 s, so kills land mid-run with calls in flight and results held.
  emulator = await startEmulator({
    latency: { kind: 'uniform', minMs: 10, maxMs: 90 },
    maxStoredRuns: 10_000,
  });
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-crash-'));
});
afterAll(async () => {
  await emulator.close();
});

interface Scenario {
  readonly name: string;
  readonly outputExt: 'ndjson' | 'csv' | 'json';
  readonly streaming: boolean;
  /** `false` runs with `--no-ordered`: then "in order" means sorted by seq, each exactly once. */
  readonly ordered: boolean;
  /** The input's format: NDJSON, or CSV (a resume then seeks past the CSV rows already done). */
  readonly inputExt: 'ndjson' | 'csv';
}

/**
 * The input file's text: every 17th record fails as a workflow run (a dead letter), every 29th does
 * not parse (not JSON; a CSV row with an extra field).
 */
function inputText(tag: string, ext: Scenario['inputExt']): string {
  const rows = Array.from({ length: RECORDS }, (_, i) => {
    const id = `${tag}-${i}`;
    const fault = i % 17 === 16 ? 'failed' : '';
    if (ext === 'csv') return i % 29 === 28 ? `${id},hello ${i},,extra` : `${id},hello ${i},${fault}`;
    if (i % 29 === 28) return `{"id": "${id}", broken`;
    return JSON.stringify({ id, text: `hello ${i}`, ...(fault === '' ? {} : { __fault: fault }) });
  });
  return `${ext === 'csv' ? 'id,text,__fault\n' : ''}${rows.join('\n')}\n`;
}

function runCli(args: readonly string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(process.execPath, [CLI, 'run', ...args], {
    env: { ...process.env, DIFY_BASE_URL: emulator.url, DIFY_API_KEY: WORKFLOW_KEY },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolveDone) => {
    child.once('close', (code) => resolveDone({ code, stderr }));
  });
  return { child, done };
}

/** Calls each input id got beyond its first, over ids that are called once when nothing goes wrong. */
function repeatedCalls(tag: string): number {
  const perInput = emulator.stats().callsPerInput ?? {};
  let repeated = 0;
  for (const [id, calls] of Object.entries(perInput)) {
    if (id.startsWith(`${tag}-`) && calls > 1) repeated += calls - 1;
  }
  return repeated;
}

function readResults(text: string, ext: Scenario['outputExt']): Record<string, unknown>[] {
  if (ext === 'json') return JSON.parse(text) as Record<string, unknown>[];
  if (ext === 'ndjson') {
    return text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  return rows.map((row) => ({
    seq: Number(row.seq),
    id: row.id,
    ok: row.ok === 'true',
    outputs: row.outputs === '' ? undefined : JSON.parse(row.outputs!),
    error: row.error_code === '' ? undefined : { code: row.error_code },
  }));
}

async function crashAndResume(scenario: Scenario, killAfterMs: readonly number[]): Promise<void> {
  const tag = `${scenario.name}-${killAfterMs.join('-')}`;
  const input = join(dir, `${tag}.in.${scenario.inputExt}`);
  await writeFile(input, inputText(tag, scenario.inputExt));
  const lines = Array.from({ length: RECORDS }, (_, i) => `record ${i}`);
  const output = join(dir, `${tag}.out.${scenario.outputExt}`);
  const errors = join(dir, `${tag}.errors.ndjson`);
  const args = [
    '-i',
    input,
    '-o',
    output,
    '-e',
    errors,
    '-c',
    String(CONCURRENCY),
    '--no-progress',
    '--id-field',
    'id',
    '--batch-wait-ms',
    '20',
    ...(scenario.streaming ? ['--response-mode', 'streaming'] : []),
    ...(scenario.ordered ? [] : ['--no-ordered']),
  ];

  let kills = 0;
  let recoveredRuns = 0;
  let startedRuns = 0;
  const countRecovered = (stderr: string): void => {
    const match = /(\d+) of (\d+) started workflow runs recovered/.exec(stderr);
    recoveredRuns += Number(match?.[1] ?? 0);
    startedRuns += Number(match?.[2] ?? 0);
  };
  let first = true;
  for (const delay of killAfterMs) {
    const { child, done } = runCli(first ? args : [...args, '--resume']);
    first = false;
    await sleep(delay);
    const killed = child.kill('SIGKILL');
    const { code, stderr } = await done;
    countRecovered(stderr);
    // A run may have finished before its kill; then there is nothing left to resume.
    if (code !== null) {
      expect(code, stderr).toBe(2);
      break;
    }
    expect(killed).toBe(true);
    kills++;
  }
  const last = await runCli([...args, '--resume']).done;
  countRecovered(last.stderr);
  expect(last.code, last.stderr).toBe(2);

  // Exactly one correct result per input, in input order.
  const written = readResults(await readFile(output, 'utf8'), scenario.outputExt);
  const bySeq = (a: { seq?: unknown }, b: { seq?: unknown }) => Number(a.seq) - Number(b.seq);
  const results = scenario.ordered ? written : [...written].sort(bySeq);
  expect(results.map((r) => r.seq)).toEqual(lines.map((_, i) => i));
  const expectedFailures: number[] = [];
  lines.forEach((line, i) => {
    const r = results[i]!;
    if (i % 29 === 28) {
      expect(r.ok, line).toBe(false);
      expect((r.error as { code: string }).code).toBe('ERR_SOURCE_PARSE');
      expectedFailures.push(i);
    } else if (i % 17 === 16) {
      expect(r.ok, line).toBe(false);
      expect((r.error as { code: string }).code).toBe('ERR_DIFY_RUN_FAILED');
      expectedFailures.push(i);
    } else {
      expect(r.id).toBe(`${tag}-${i}`);
      // The emulator's outputs ignore the `__fault` hook, whatever its value.
      expect(r.outputs).toEqual(emulatedOutputs('workflow', { id: `${tag}-${i}`, text: `hello ${i}` }));
    }
  });
  // The dead letters are exactly the failures, once each, in order.
  const dead = (await readFile(errors, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { _error: { seq: number } });
  const deadSeqs = dead.map((d) => d._error.seq);
  expect(scenario.ordered ? deadSeqs : deadSeqs.sort((a, b) => a - b)).toEqual(expectedFailures);
  // A finished run marks its checkpoint complete and drops the journal.
  const sidecars = checkpointPaths(output);
  expect(await FileCheckpoint.load(sidecars.checkpoint)).toMatchObject({
    complete: true,
    written: RECORDS,
    failed: expectedFailures.length,
  });
  expect(existsSync(sidecars.journal)).toBe(false);
  // Each crash repeats at most the calls that were in flight (≤ concurrency), never the held results.
  const repeated = repeatedCalls(tag);
  console.log(`${tag}: ${kills} kills, ${repeated} repeated calls, ${recoveredRuns} workflow runs recovered`);
  expect(kills).toBeGreaterThan(0);
  expect(repeated).toBeLessThanOrEqual(kills * 2 * CONCURRENCY);
  // Streaming runs seen started are polled to their results, every one, not run again.
  expect(recoveredRuns).toBe(startedRuns);
  if (scenario.streaming) expect(startedRuns).toBeGreaterThan(0);
}

describe('run --resume after SIGKILL (built CLI against the emulator)', () => {
  const scenarios: readonly Scenario[] = [
    { name: 'ndjson', inputExt: 'ndjson', outputExt: 'ndjson', streaming: false, ordered: true },
    { name: 'csv', inputExt: 'csv', outputExt: 'csv', streaming: false, ordered: true },
    { name: 'json', inputExt: 'ndjson', outputExt: 'json', streaming: false, ordered: true },
    { name: 'stream', inputExt: 'ndjson', outputExt: 'ndjson', streaming: true, ordered: true },
    { name: 'unordered', inputExt: 'csv', outputExt: 'json', streaming: false, ordered: false },
  ];
  for (const scenario of scenarios) {
    it(`${scenario.name}: killed twice at random points, resumed to one correct line per input`, async () => {
      // Kill points from 350 ms (past start-up) to 1.4 s; a run takes ~2.5 s.
      // Streaming kills come a little later, when calls are surely in flight (runs to recover).
      const min = scenario.streaming ? 700 : 350;
      const delays = fc.sample(
        fc.array(fc.noBias(fc.integer({ min, max: 1400 })), { minLength: 2, maxLength: 2 }),
        {
          numRuns: 1,
          seed: Date.now() % 2 ** 31,
        },
      )[0]!;
      await crashAndResume(scenario, delays);
    }, 40_000);
  }
});
