import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import type { ResultSink } from '../../src/sinks/ResultSink.js';
import type { DeadLetterEntry } from '../../src/sinks/toDeadLetter.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { countingRecords, fakeTransport } from '../helpers/fakeTransport.js';
import { memorySink } from '../helpers/memorySink.js';

/** A sink that records every write, and flags writes that came after `close()` or after `run.rejected`. */
function watchedSink<T>(run: { rejected: boolean }, delayMs: number, failOnWrite?: number) {
  const batches: T[][] = [];
  const state = { afterClose: 0, afterReject: 0, closed: false, calls: 0 };
  const sink: ResultSink<T> = {
    write: async (batch) => {
      state.calls++;
      if (state.closed) state.afterClose++;
      if (run.rejected) state.afterReject++;
      if (failOnWrite === state.calls) throw new Error(`write ${state.calls} refused`);
      await new Promise((r) => setTimeout(r, delayMs));
      batches.push([...batch]);
    },
    close: async () => {
      state.closed = true;
    },
  };
  return { sink, batches, state };
}

/** Records `{ n }`, then a fatal source error after `failAfter` of them. */
async function* failingSource(failAfter: number): AsyncGenerator<Record<string, unknown>> {
  for (let n = 0; n < failAfter; n++) yield { n };
  throw new DifyBatchError('ERR_SOURCE_READ', 'cannot read rows.ndjson: truncated');
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runBatch error paths', () => {
  it('a failing dead-letter sink rejects with ERR_SINK_WRITE before that batch’s results are written', async () => {
    const { transport } = fakeTransport((req) => ({
      delayMs: 0,
      ...((req.inputs.n as number) % 2 ? { fail: 'final' } : {}),
    }));
    const { records } = countingRecords(20);
    const out = memorySink<ItemResult>();
    const refused = new Error('dead-letter disk full');
    const dead: ResultSink<DeadLetterEntry> = {
      write: async () => {
        throw refused;
      },
      close: async () => {},
    };
    const error = await runBatch({
      source: fromAsyncIterable(records),
      sink: out.sink,
      deadLetter: dead,
      transport,
      app: 'workflow',
      batch: { size: 5 },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_SINK_WRITE',
      message: 'the dead-letter sink failed: dead-letter disk full',
    });
    expect((error as Error).cause).toBe(refused);
    // The first batch has failures, so its dead-letter write came first and nothing was written.
    expect(out.results).toEqual([]);
  });

  it('keeps an ERR_SINK_WRITE from a library sink as it is', async () => {
    const { transport } = fakeTransport(() => ({ delayMs: 0 }));
    const own = new DifyBatchError('ERR_SINK_WRITE', 'cannot write out.ndjson: EACCES');
    const sink: ResultSink = { write: () => Promise.reject(own), close: async () => {} };
    await expect(
      runBatch({ source: fromAsyncIterable(countingRecords(3).records), sink, transport, app: 'workflow' }),
    ).rejects.toBe(own);
  });

  it('a throwing onProgress is reported once as a warning and the run completes', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { transport } = fakeTransport(() => ({ delayMs: 0 }));
    const out = memorySink<ItemResult>();
    let calls = 0;
    const summary = await runBatch({
      source: fromAsyncIterable(countingRecords(50).records),
      sink: out.sink,
      transport,
      app: 'workflow',
      batch: { size: 5, maxWaitMs: 0 },
      progressIntervalMs: 0,
      onProgress: () => {
        calls++;
        throw new Error('progress bar broke');
      },
    });
    expect(summary).toMatchObject({ written: 50, succeeded: 50 });
    expect(out.results.map((r) => r.seq)).toEqual([...Array(50).keys()]);
    expect(calls).toBeGreaterThan(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toContain('onProgress threw');
    expect(warn.mock.calls[0]![0]).toContain('progress bar broke');
    expect(warn.mock.calls[0]![1]).toMatchObject({
      type: 'DifyBatchWarning',
      code: 'DIFY_BATCH_ON_PROGRESS',
    });
  });

  it('a fatal source error during a slow write: that batch finishes with its dead letters, nothing after rejection', async () => {
    const run = { rejected: false };
    const { transport } = fakeTransport((req) => ({
      delayMs: 0,
      ...((req.inputs.n as number) % 3 === 0 ? { fail: 'final' } : {}),
    }));
    const out = watchedSink<ItemResult>(run, 30);
    const dead = watchedSink<DeadLetterEntry>(run, 30);
    const error = await runBatch({
      source: fromAsyncIterable(failingSource(40)),
      sink: out.sink,
      deadLetter: dead.sink,
      transport,
      app: 'workflow',
      batch: { size: 10, maxWaitMs: 0 },
    }).catch((e: unknown) => e);
    run.rejected = true;
    expect(error).toMatchObject({ code: 'ERR_SOURCE_READ' });
    await settle(100);
    for (const { state } of [out, dead]) expect(state).toMatchObject({ afterClose: 0, afterReject: 0 });
    const failedSeqs = out.batches
      .flat()
      .filter((r) => !r.ok)
      .map((r) => r.seq);
    expect(dead.batches.flat().map((e) => e.result.seq)).toEqual(expect.arrayContaining(failedSeqs));
  });

  it('an abort during a slow write: no write after rejection or close', async () => {
    const run = { rejected: false };
    const { transport } = fakeTransport(() => ({ delayMs: 1, fail: 'final' }));
    const out = watchedSink<ItemResult>(run, 40);
    const dead = watchedSink<DeadLetterEntry>(run, 40);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(
      runBatch({
        source: fromAsyncIterable(countingRecords(500).records),
        sink: out.sink,
        deadLetter: dead.sink,
        transport,
        app: 'workflow',
        batch: { size: 10, maxWaitMs: 0 },
        signal: controller.signal,
      }),
    ).rejects.toThrow('stop');
    run.rejected = true;
    await settle(150);
    for (const { state } of [out, dead]) expect(state).toMatchObject({ afterClose: 0, afterReject: 0 });
    const failedSeqs = out.batches.flat().map((r) => r.seq);
    expect(dead.batches.flat().map((e) => e.result.seq)).toEqual(expect.arrayContaining(failedSeqs));
  });

  it('property: whatever fails when, no sink sees a write after rejection and written failures have dead letters', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          failAfter: fc.integer({ min: 0, max: 40 }),
          sinkDelayMs: fc.integer({ min: 0, max: 6 }),
          deadDelayMs: fc.integer({ min: 0, max: 6 }),
          batchSize: fc.integer({ min: 1, max: 8 }),
          failEvery: fc.integer({ min: 1, max: 4 }),
          sinkFailsOn: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
        }),
        async (c) => {
          const run = { rejected: false };
          const { transport } = fakeTransport((req) => ({
            delayMs: (req.inputs.n as number) % 3,
            ...((req.inputs.n as number) % c.failEvery === 0 ? { fail: 'final' } : {}),
          }));
          const out = watchedSink<ItemResult>(run, c.sinkDelayMs, c.sinkFailsOn);
          const dead = watchedSink<DeadLetterEntry>(run, c.deadDelayMs);
          const error = await runBatch({
            source: fromAsyncIterable(failingSource(c.failAfter)),
            sink: out.sink,
            deadLetter: dead.sink,
            transport,
            app: 'workflow',
            concurrency: 4,
            batch: { size: c.batchSize, maxWaitMs: 0 },
          }).catch((e: unknown) => e);
          run.rejected = true;
          expect(error).toBeInstanceOf(DifyBatchError);
          expect(['ERR_SOURCE_READ', 'ERR_SINK_WRITE']).toContain((error as DifyBatchError).code);
          await settle(15);
          for (const { state } of [out, dead]) expect(state).toMatchObject({ afterClose: 0, afterReject: 0 });
          const failedSeqs = out.batches
            .flat()
            .filter((r) => !r.ok)
            .map((r) => r.seq);
          const deadSeqs = new Set(dead.batches.flat().map((e) => e.result.seq));
          for (const seq of failedSeqs) expect(deadSeqs.has(seq)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});
