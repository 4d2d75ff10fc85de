import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { runBinary } from '../helpers/runBinary.js';

const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;

let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  // Calls are counted per `id`; records without one (the parse failures) would count as `{}`.
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 0 } });
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-dead-'));
});
afterAll(async () => {
  await emulator.close();
});

async function run(input: string, output: string, errors: string) {
  return runBinary(['run', '-i', input, '-o', output, '-e', errors, '--no-progress', '--max-attempts', '1'], {
    DIFY_BASE_URL: emulator.url,
    DIFY_API_KEY: WORKFLOW_KEY,
  });
}

/** Result records of an output file, whatever its format. */
async function results(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8');
  if (path.endsWith('.json')) return JSON.parse(text) as Record<string, unknown>[];
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Records of a dead-letter file in its own format. */
async function deadRecords(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8');
  if (path.endsWith('.csv')) return parse(text, { columns: true }) as Record<string, unknown>[];
  if (path.endsWith('.json')) return JSON.parse(text) as Record<string, unknown>[];
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The original texts of the unparseable entries of a dead-letter file: `_raw`, or `_error.raw` in CSV. */
function rawTexts(records: readonly Record<string, unknown>[]): string[] {
  return records
    .map((r) => {
      if (typeof r._raw === 'string') return r._raw;
      const error = typeof r._error === 'string' ? JSON.parse(r._error) : r._error;
      return (error as { raw?: string }).raw;
    })
    .filter((raw): raw is string => raw !== undefined);
}

// Per format: an input with good records, two records that never parse, and one record whose workflow
// fails on its first call only (`__fault: "failed:1"`), so that its re-run succeeds and its outputs
// show what was sent. Ids differ per format: the emulator counts calls per id.
const CASES = [
  {
    format: 'ndjson',
    lines: (p: string) => [
      `{"id":"${p}a","q":"alpha"}`,
      `{"id": "${p}broken", "q": oops}`,
      `{"id":"${p}b","q":"beta","__fault":"failed:1"}`,
      '42',
      `{"id":"${p}c","q":"gamma"}`,
    ],
  },
  {
    format: 'json',
    lines: (p: string) => [
      `[{"id":"${p}a","q":"alpha"},`,
      '"just a string",',
      `{"id":"${p}b","q":"beta","__fault":"failed:1"},`,
      '[1,2],',
      `{"id":"${p}c","q":"gamma"}]`,
    ],
  },
  {
    format: 'csv',
    lines: (p: string) => [
      'id,q,__fault',
      `${p}a,alpha,`,
      `${p}ragged,row,with,too,many`,
      `${p}b,beta,failed:1`,
      `${p}c,gamma,`,
      'short',
    ],
  },
] as const;

describe('re-running a dead-letter file', () => {
  it.each(CASES)(
    '$format: unparseable entries stay failures without a call, others are re-sent without _error',
    async (c) => {
      const name = (stem: string, ext: string = c.format) => join(dir, `${stem}-${c.format}.${ext}`);
      await writeFile(name('in'), `${c.lines(`${c.format}-`).join('\n')}\n`);
      const first = await run(name('in'), name('out1', 'ndjson'), name('dead1'));
      expect(first.stderr).not.toContain(WORKFLOW_KEY);
      expect(first.code).toBe(2);
      const dead1 = await deadRecords(name('dead1'));
      expect(dead1).toHaveLength(3);
      const raws = rawTexts(dead1);
      expect(raws).toHaveLength(2);

      const before = emulator.stats();
      const second = await run(name('dead1'), name('out2', 'ndjson'), name('dead2'));
      expect(second.code).toBe(2);
      const rerun = await results(name('out2', 'ndjson'));
      expect(rerun).toHaveLength(3);
      // Exactly one call, for the record that parsed; none for the unparseable entries (they would be
      // sent as `{}` and counted under that key).
      const after = emulator.stats();
      // One run, plus the preflight's GET /info and GET /parameters (file inputs reuse the latter).
      expect(after.requests - before.requests).toBe(3);
      expect(after.callsPerInput?.[`${c.format}-b`]).toBe(2);
      expect(Object.keys(after.callsPerInput ?? {})).not.toContain('{}');
      // The outputs echo the inputs received: the original record, `_error` gone.
      const sent = rerun.filter((r) => r.ok === true);
      expect(sent).toHaveLength(1);
      const original = { id: `${c.format}-b`, q: 'beta', __fault: 'failed:1' };
      expect(sent[0]!.outputs).toEqual(emulatedOutputs('workflow', original));
      for (const failure of rerun.filter((r) => r.ok === false)) {
        expect(failure.attempts).toBe(0);
        expect(failure.error).toMatchObject({ code: 'ERR_SOURCE_PARSE' });
        expect((failure.error as { message: string }).message).toMatch(
          /^(line|record) \d+.*: an unparseable record in a dead-letter file, not sent/,
        );
      }
      // The new dead-letter file keeps the original texts, so they can be fixed and re-run in turn.
      expect(rawTexts(await deadRecords(name('dead2')))).toEqual(raws);
    },
  );
});
