import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import type { RunSummary } from '../../src/pipeline/RunSummary.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { toDeadLetter } from '../../src/sinks/toDeadLetter.js';
import { toFile } from '../../src/sinks/toFile.js';
import { fromFile } from '../../src/sources/fromFile.js';
import { fakeTransport } from '../helpers/fakeTransport.js';
import { memorySink } from '../helpers/memorySink.js';
import { isLinux, makeTempDir, settle } from '../sources/fixtures.js';

const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;

let emulator: Emulator;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'uniform', minMs: 0, maxMs: 4 } });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  emulator.reset();
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(() => cleanup());

const records = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, n: i }));

/** A JSON array of `n` records cut off part-way through record `cutAt` (as a crashed writer leaves it). */
function truncatedJsonArray(n: number, cutAt: number): string {
  const text = `[\n${records(n)
    .map((r) => JSON.stringify(r))
    .join(',\n')}\n]\n`;
  const start = text.indexOf(`{"id":"r${cutAt}"`);
  return text.slice(0, start + 5);
}

const readLines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ItemResult);

/** Descriptors this process holds (Linux): a leak shows up as a higher count after the run. */
const openFds = async () => (await readdir('/proc/self/fd')).length;
/** Handles that keep the event loop alive, minus the timers vitest itself runs. */
const liveHandles = () => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').length;

describe('runBatch: a fatal source error keeps what was paid for', () => {
  it('writes every record read before a truncated JSON array, then rejects with the position', async () => {
    const input = join(dir, 'in.json');
    await writeFile(input, truncatedJsonArray(1000, 700));
    const output = join(dir, 'out.ndjson');
    const error = await runBatch({
      source: fromFile(input, { idField: 'id' }),
      sink: toFile(output),
      dify: { baseUrl: emulator.url, apiKey: WORKFLOW_KEY },
      app: 'workflow',
      concurrency: 16,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyBatchError);
    const failure = error as DifyBatchError;
    expect(failure.code).toBe('ERR_SOURCE_READ');
    expect(failure.message).toContain(input);
    expect(failure.message).toMatch(/last good record \(seq 699, line 701, byte \d+\)/);
    const summary = failure.summary!;
    expect(summary.read).toBe(700);
    expect(summary.written).toBe(700);
    expect(summary.succeeded).toBe(700);
    const results = await readLines(output);
    expect(results.map((r) => r.seq)).toEqual([...Array(700).keys()]);
    // 700 runs, plus the preflight's GET /info and GET /parameters.
    expect(emulator.stats().requests).toBe(702);
  });

  it('holds for any cut point, ordered or not (written = read = calls, dead letters too)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 119 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 8 }),
        async (cutAt, ordered, concurrency) => {
          const input = join(dir, `cut-${cutAt}.json`);
          await writeFile(input, truncatedJsonArray(120, cutAt));
          // Every seventh record fails, so the dead-letter sink is exercised too.
          const { transport, stats } = fakeTransport((request) => ({
            delayMs: (Number(request.inputs.n) * 7) % 5,
            ...(Number(request.inputs.n) % 7 === 3 ? { fail: 'final' as const } : {}),
          }));
          const { sink, results } = memorySink<ItemResult>();
          const dead = memorySink<{ result: ItemResult }>();
          const error = (await runBatch({
            source: fromFile(input),
            sink,
            deadLetter: dead.sink as never,
            transport,
            app: 'workflow',
            concurrency,
            window: concurrency * 2,
            ordered,
            batch: { size: 3, maxWaitMs: 1 },
          }).catch((e: unknown) => e)) as DifyBatchError;
          expect(error.code).toBe('ERR_SOURCE_READ');
          expect(error.summary!.read).toBe(cutAt);
          expect(error.summary!.written).toBe(cutAt);
          expect(stats.calls).toBe(cutAt);
          expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual([...Array(cutAt).keys()]);
          expect(dead.results.map((e) => e.result.seq).sort((a, b) => a - b)).toEqual(
            [...Array(cutAt).keys()].filter((n) => n % 7 === 3),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('writes what was read before a truncated .gz and a broken CSV quote', async () => {
    const lines = records(300).map((r) => JSON.stringify(r));
    const gz = gzipSync(`${lines.join('\n')}\n`);
    const cases: [string, Buffer | string][] = [
      ['in.ndjson.gz', gz.subarray(0, Math.floor(gz.length * 0.6))],
      [
        'in.csv',
        `id,n\n${records(50)
          .map((r) => `${r.id},${r.n}`)
          .join('\n')}\nr50,"unterminated\nr51,51\n`,
      ],
    ];
    for (const [name, bytes] of cases) {
      const input = join(dir, name);
      await writeFile(input, bytes);
      const { transport, stats } = fakeTransport(() => ({ delayMs: 1 }));
      const { sink, results } = memorySink<ItemResult>();
      const error = (await runBatch({ source: fromFile(input), sink, transport, app: 'workflow' }).catch(
        (e: unknown) => e,
      )) as DifyBatchError;
      expect(error.code, name).toBe('ERR_SOURCE_READ');
      expect(error.summary!.read, name).toBeGreaterThan(0);
      expect(error.summary!.written, name).toBe(error.summary!.read);
      expect(results, name).toHaveLength(error.summary!.read);
      expect(stats.calls, name).toBe(error.summary!.read);
    }
  });

  it('finishes the JSON array output and the dead-letter file it started', async () => {
    const input = join(dir, 'in.json');
    await writeFile(input, truncatedJsonArray(40, 30));
    const output = join(dir, 'out.json');
    const errors = join(dir, 'dead.ndjson');
    const { transport } = fakeTransport((request) =>
      Number(request.inputs.n) === 5 ? { delayMs: 0, fail: 'final' } : { delayMs: 0 },
    );
    await expect(
      runBatch({
        source: fromFile(input),
        sink: toFile(output),
        deadLetter: toDeadLetter(errors),
        transport,
        app: 'workflow',
      }),
    ).rejects.toMatchObject({ code: 'ERR_SOURCE_READ' });
    const written = JSON.parse(await readFile(output, 'utf8')) as ItemResult[];
    expect(written.map((r) => r.seq)).toEqual([...Array(30).keys()]);
    expect((await readLines(errors)).map((e) => (e as unknown as { n: number }).n)).toEqual([5]);
  });
});

describe('runBatch: validation before resources, nothing leaked', () => {
  it('rejects every bad option before the file sinks or the client pool exist', async () => {
    const output = join(dir, 'out.json');
    await writeFile(output, 'precious\n');
    const base = {
      source: fromFile(join(dir, 'missing.ndjson')),
      sink: toFile(output),
      dify: { baseUrl: emulator.url, apiKey: WORKFLOW_KEY },
      app: 'workflow' as const,
    };
    for (const bad of [
      { concurrency: 0 },
      { window: 1, concurrency: 2 },
      { ordered: 'yes' as never },
      { app: 'agent' as never },
      { onProgress: 42 as never },
      { retry: { maxAttempts: 0 } },
      { dify: { baseUrl: 'ftp://nope', apiKey: WORKFLOW_KEY } },
    ]) {
      const error = (await runBatch({ ...base, ...bad }).catch((e: unknown) => e)) as DifyBatchError;
      expect(error.code, JSON.stringify(bad)).toBe('ERR_INVALID_OPTION');
      // Nothing started, so there is no summary: callers can tell a configuration error from a failed run.
      expect(error.summary).toBeUndefined();
    }
    await expect(runBatch({ ...base, signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow(
      'already',
    );
    expect(await readFile(output, 'utf8')).toBe('precious\n');
    expect(emulator.stats().requests).toBe(0);
  });

  it.skipIf(!isLinux)(
    'closes the pool and every descriptor whether it rejects early, late, or resolves',
    async () => {
      const input = join(dir, 'in.json');
      await writeFile(input, truncatedJsonArray(200, 150));
      const good = join(dir, 'good.ndjson');
      await writeFile(
        good,
        `${records(50)
          .map((r) => JSON.stringify(r))
          .join('\n')}\n`,
      );
      const dify = { baseUrl: emulator.url, apiKey: WORKFLOW_KEY };
      // Warm up lazily loaded modules and the emulator's sockets, so only the runs themselves count.
      await runBatch({
        source: fromFile(good),
        sink: toFile(join(dir, 'warm.ndjson')),
        dify,
        app: 'workflow',
      });
      await settle();
      const fdsBefore = await openFds();
      const handlesBefore = liveHandles();
      const runs: Promise<unknown>[] = [
        // early: a bad option
        runBatch({
          source: fromFile(good),
          sink: toFile(join(dir, 'a.ndjson')),
          dify,
          app: 'workflow',
          window: 0,
        }),
        // late: the source breaks part-way, with a dead-letter file open
        runBatch({
          source: fromFile(input),
          sink: toFile(join(dir, 'b.ndjson')),
          deadLetter: toDeadLetter(join(dir, 'b.dead.ndjson')),
          dify,
          app: 'workflow',
        }),
        // late: the sink cannot be written
        runBatch({
          source: fromFile(good),
          sink: toFile(join(dir, 'no', 'such', 'dir.ndjson')),
          dify,
          app: 'workflow',
        }),
        // resolves
        runBatch({ source: fromFile(good), sink: toFile(join(dir, 'c.ndjson')), dify, app: 'workflow' }),
      ];
      const outcomes = await Promise.allSettled(runs);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'fulfilled']);
      await settle();
      await new Promise((r) => setTimeout(r, 50));
      expect(await openFds()).toBeLessThanOrEqual(fdsBefore);
      expect(liveHandles()).toBeLessThanOrEqual(handlesBefore);
    },
  );
});

describe('runBatch: every rejection carries the summary', () => {
  it('on abort, the reason is passed unchanged and carries how far the run got', async () => {
    const { transport } = fakeTransport(() => ({ delayMs: 2 }));
    const controller = new AbortController();
    const { sink } = memorySink<ItemResult>({
      onWrite: () => controller.abort(new Error('stop now')),
    });
    const error = (await runBatch({
      source: infinite(),
      sink,
      transport,
      app: 'workflow',
      signal: controller.signal,
      batch: { size: 5, maxWaitMs: 1 },
    }).catch((e: unknown) => e)) as Error & { summary?: RunSummary };
    expect(error.message).toBe('stop now');
    expect(error.summary).toBeDefined();
    expect(error.summary!.written).toBeGreaterThan(0);
    expect(error.summary!.read).toBeGreaterThanOrEqual(error.summary!.written);
  });

  it('on a sink failure, with the sink still closed', async () => {
    const { transport } = fakeTransport(() => ({ delayMs: 0 }));
    let closedWith: unknown;
    const sink = {
      write: async () => {
        throw new DifyBatchError('ERR_SINK_WRITE', 'disk full');
      },
      close: async (options?: unknown) => {
        closedWith = options;
      },
    };
    const error = (await runBatch({ source: infinite(), sink, transport, app: 'workflow' }).catch(
      (e: unknown) => e,
    )) as DifyBatchError;
    expect(error.code).toBe('ERR_SINK_WRITE');
    expect(error.summary!.written).toBe(0);
    expect(error.summary!.read).toBeGreaterThan(0);
    expect(closedWith).toEqual({ failed: true });
  });
});

async function* infinite() {
  for (let seq = 0; ; seq++) yield { seq, id: String(seq), inputs: { n: seq } };
}
