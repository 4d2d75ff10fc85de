import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { checkpointPaths, FileCheckpoint } from '../../src/checkpoint/FileCheckpoint.js';
import { fingerprintInput, inputDifferences } from '../../src/checkpoint/fingerprintInput.js';
import type { DifyResult, DifyTransport } from '../../src/dify/DifyRequest.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { toFile } from '../../src/sinks/toFile.js';
import { fromFile } from '../../src/sources/fromFile.js';

const RECORDS = 20;

/** Answers `{ echo: id }` after `delayMs`; the ids in `hang` never answer (until aborted). Counts calls per id. */
function transportOf(hang: ReadonlySet<string>, delayMs = 1) {
  const calls = new Map<string, number>();
  const transport: DifyTransport = (request, { signal }) => {
    const id = String(request.inputs.id);
    calls.set(id, (calls.get(id) ?? 0) + 1);
    return new Promise<DifyResult>((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!hang.has(id)) {
        setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve({ outputs: { echo: id } });
        }, delayMs);
      }
    });
  };
  return { transport, calls };
}

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'dify-batch-checkpoint-'));
  const input = join(dir, 'in.ndjson');
  await writeFile(
    input,
    `${Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: `r${i}` })).join('\n')}\n`,
  );
  const output = join(dir, 'out.json');
  const header = {
    input: await fingerprintInput(input),
    options: { app: 'workflow' },
    output: { path: output, format: 'json', bytes: 0 },
    deadLetter: null,
    nextSeq: 0,
    written: 0,
    failed: 0,
    inputLine: 0,
    inputOffset: 0,
  };
  return { dir, input, output, header };
}

/** Runs until every call but the hanging ones has answered and been journaled, then "crashes" (abort). */
async function crashedRun(hangId: string) {
  const { input, output, header } = await setup();
  const { transport, calls } = transportOf(new Set([hangId]));
  const checkpoint = await FileCheckpoint.open({ header, minIntervalMs: 0 });
  const crash = new AbortController();
  const running = runBatch({
    source: fromFile(input, { idField: 'id' }),
    sink: toFile(output),
    transport,
    app: 'workflow',
    concurrency: 4,
    batch: { size: 2, maxWaitMs: 0 },
    checkpoint,
    signal: crash.signal,
  });
  while ([...calls.values()].reduce((a, b) => a + b, 0) < RECORDS) await sleep(5);
  await sleep(30);
  crash.abort(new Error('crash'));
  await expect(running).rejects.toThrow('crash');
  checkpoint.close();
  return { input, output, calls };
}

async function resumedRun(input: string, output: string) {
  const paths = checkpointPaths(output);
  const record = (await FileCheckpoint.load(paths.checkpoint))!;
  const journal = await FileCheckpoint.readJournal(paths.journal, record.nextSeq);
  const { version: _v, updatedAt: _u, complete: _c, ...header } = record;
  const checkpoint = await FileCheckpoint.open({ header, recovered: journal });
  const { transport, calls } = transportOf(new Set());
  const summary = await runBatch({
    source: fromFile(input, {
      idField: 'id',
      resumeFrom: { seq: record.nextSeq, line: record.inputLine, offset: record.inputOffset },
    }),
    sink: toFile(output, { resumeAt: record.output.bytes }),
    transport,
    app: 'workflow',
    concurrency: 4,
    checkpoint,
  });
  await checkpoint.complete();
  return { record, journal, calls, summary };
}

describe('FileCheckpoint with runBatch', () => {
  it('a crash while seq 0 is in flight re-calls only seq 0: the held results come from the journal', async () => {
    const { input, output } = await crashedRun('r0');
    const { record, journal, calls } = await resumedRun(input, output);
    expect(record.nextSeq).toBe(0);
    expect([...journal.results.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: RECORDS - 1 }, (_, i) => i + 1),
    );
    expect([...calls]).toEqual([['r0', 1]]);
    const results = JSON.parse(await readFile(output, 'utf8')) as { seq: number; outputs: unknown }[];
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
    expect(results.map((r) => r.outputs)).toEqual(
      Array.from({ length: RECORDS }, (_, i) => ({ echo: `r${i}` })),
    );
  });

  it('a crash mid-file continues after the written prefix: JSON array framing intact, nothing twice', async () => {
    const { input, output } = await crashedRun('r7');
    const { record, calls, summary } = await resumedRun(input, output);
    expect(record.nextSeq).toBe(7);
    expect(record.written).toBe(7);
    expect(record.inputLine).toBe(7);
    expect([...calls]).toEqual([['r7', 1]]);
    expect(summary.written).toBe(RECORDS - 7);
    const results = JSON.parse(await readFile(output, 'utf8')) as { seq: number; id: string }[];
    expect(results.map((r) => r.id)).toEqual(Array.from({ length: RECORDS }, (_, i) => `r${i}`));
    const done = await FileCheckpoint.load(checkpointPaths(output).checkpoint);
    expect(done).toMatchObject({ complete: true, nextSeq: RECORDS, written: RECORDS, failed: 0 });
    expect(await readFile(checkpointPaths(output).journal, 'utf8').catch(() => 'gone')).toBe('gone');
  });

  it('saves at most every minIntervalMs, except the final save', async () => {
    const { header } = await setup();
    const checkpoint = await FileCheckpoint.open({ header, minIntervalMs: 60_000 });
    let syncs = 0;
    const point = (seq: number, final: boolean) => ({
      watermarks: [
        { partition: 'p', seq, position: { line: seq + 1, offset: 10 * (seq + 1) }, count: seq + 1 },
      ],
      written: seq + 1,
      failed: 0,
      outputBytes: 100 * (seq + 1),
      deadLetterBytes: undefined,
      final,
      syncSinks: async () => {
        syncs++;
      },
    });
    await checkpoint.save(point(0, false));
    await checkpoint.save(point(1, false));
    expect(checkpoint.current).toMatchObject({ nextSeq: 1, inputOffset: 10, output: { bytes: 100 } });
    await checkpoint.save(point(2, true));
    expect(syncs).toBe(2);
    const onDisk = await FileCheckpoint.load(checkpointPaths(header.output.path).checkpoint);
    expect(onDisk).toMatchObject({
      nextSeq: 3,
      written: 3,
      inputLine: 3,
      inputOffset: 30,
      output: { bytes: 300 },
    });
    checkpoint.close();
  });

  it('compacts the journal as the watermark moves: the file stays small and keeps every pending result', async () => {
    const { header } = await setup();
    const checkpoint = await FileCheckpoint.open({ header, minIntervalMs: 0 });
    const journalPath = checkpointPaths(header.output.path).journal;
    const result = (seq: number) => ({
      seq,
      id: `r${seq}`,
      ok: true as const,
      outputs: { n: seq },
      attempts: 1,
      latencyMs: 1,
    });
    let largest = 0;
    for (let seq = 0; seq < 20_000; seq++) {
      checkpoint.journal(result(seq));
      // Written up to 50 behind what completed: those 50 are what a crash must not lose.
      if (seq % 100 === 99) {
        const done = seq - 50;
        await checkpoint.save({
          watermarks: [
            { partition: 'p', seq: done, position: { line: done + 1, offset: done + 1 }, count: done + 1 },
          ],
          written: done + 1,
          failed: 0,
          outputBytes: done + 1,
          deadLetterBytes: undefined,
          final: false,
          syncSinks: async () => {},
        });
        largest = Math.max(largest, (await readFile(journalPath, 'utf8')).split('\n').length);
      }
    }
    expect(largest).toBeLessThan(5_000);
    const journal = await FileCheckpoint.readJournal(journalPath, checkpoint.current!.nextSeq);
    expect([...journal.results.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => 19_950 + i),
    );
    expect(journal.results.get(19_999)).toEqual(result(19_999));
    checkpoint.close();
  });

  it('reads a journal whose last line was torn by the crash, keeping only entries at or after nextSeq', async () => {
    const { dir } = await setup();
    const path = join(dir, 'j.ndjson');
    const ok = (seq: number) => ({ seq, id: `r${seq}`, ok: true, outputs: {}, attempts: 1, latencyMs: 1 });
    await writeFile(
      path,
      [
        JSON.stringify({ seq: 1, result: ok(1) }),
        JSON.stringify({ seq: 3, id: 'r3', workflowRunId: 'run-3' }),
        JSON.stringify({ seq: 4, id: 'r4', workflowRunId: 'run-4' }),
        JSON.stringify({ seq: 4, result: ok(4) }),
        '{"seq":5,"result":{"seq":5,"id":"r5","ok":tr',
      ].join('\n'),
    );
    const journal = await FileCheckpoint.readJournal(path, 2);
    expect([...journal.results.keys()]).toEqual([4]);
    expect([...journal.runIds]).toEqual([[3, { id: 'r3', workflowRunId: 'run-3' }]]);
  });

  it('load: undefined without a file, ERR_CHECKPOINT for one that is not a checkpoint', async () => {
    const { dir } = await setup();
    expect(await FileCheckpoint.load(join(dir, 'none.json'))).toBeUndefined();
    await writeFile(join(dir, 'bad.json'), '{"hello": 1}');
    await expect(FileCheckpoint.load(join(dir, 'bad.json'))).rejects.toMatchObject({
      code: 'ERR_CHECKPOINT',
    });
  });
});

describe('checkpoint options', () => {
  it('FileCheckpoint.open rejects a bad minIntervalMs before it writes anything', async () => {
    const { header } = await setup();
    await expect(FileCheckpoint.open({ header, minIntervalMs: -1 })).rejects.toThrow(
      'Expected `minIntervalMs` to be a finite number 0 or more, got `-1` (number)',
    );
    expect(await FileCheckpoint.load(checkpointPaths(header.output.path).checkpoint)).toBeUndefined();
  });

  it('fingerprintInput rejects a bad headBytes before it reads the file', async () => {
    const { input } = await setup();
    await expect(fingerprintInput(input, 1.5)).rejects.toThrow(
      'Expected `headBytes` to be an integer from 0 and up, got `1.5` (number)',
    );
    await expect(fingerprintInput('', 0)).rejects.toThrow('Expected `path` to be a non-empty string');
  });
});

describe('fingerprintInput', () => {
  it('tells size, mtime and content changes apart, and nothing for the same file', async () => {
    const { input } = await setup();
    const before = await fingerprintInput(input);
    expect(inputDifferences(before, await fingerprintInput(input))).toEqual([]);
    const text = await readFile(input, 'utf8');
    await writeFile(input, text.replace('r1"', 'x1"'));
    const edited = await fingerprintInput(input);
    expect(inputDifferences(before, edited)).toContain('hash');
    expect(inputDifferences(before, edited)).not.toContain('size');
    await writeFile(input, `${text}{"id":"more"}\n`);
    expect(inputDifferences(before, await fingerprintInput(input))).toEqual(
      expect.arrayContaining(['size', 'mtime']),
    );
  });
});
