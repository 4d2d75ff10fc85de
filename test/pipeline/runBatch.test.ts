import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { createDifyTransform } from '../../src/pipeline/createDifyTransform.js';
import { difyResults } from '../../src/pipeline/difyResults.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import type { DeadLetterEntry } from '../../src/sinks/toDeadLetter.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { countingRecords, fakeTransport } from '../helpers/fakeTransport.js';
import { memorySink } from '../helpers/memorySink.js';

const fastRetry = { baseDelayMs: 1, maxDelayMs: 2 };

describe('runBatch', () => {
  it('writes exactly one result per input, in input order, despite random latencies', async () => {
    const { transport, stats } = fakeTransport((req) => ({
      delayMs: ((req.inputs.n as number) * 7919) % 13,
    }));
    const { records } = countingRecords(500);
    const { sink, results, state } = memorySink<ItemResult>();
    const summary = await runBatch({
      source: fromAsyncIterable(records),
      sink,
      transport,
      app: 'workflow',
      concurrency: 8,
    });
    expect(results.map((r) => r.seq)).toEqual([...Array(500).keys()]);
    expect(results.every((r) => r.ok && (r.outputs as { echo: number }).echo === r.seq)).toBe(true);
    expect(stats.peakInFlight).toBeLessThanOrEqual(8);
    expect(stats.peakInFlight).toBeGreaterThan(1);
    expect(summary).toMatchObject({
      read: 500,
      written: 500,
      succeeded: 500,
      failed: 0,
      retries: 0,
      inFlight: 0,
    });
    expect(summary.peakOutstanding).toBeLessThanOrEqual(16 * 8); // the default window
    expect(state.closed).toBe(true);
  });

  it('a source that starts past seq 0 (skip, a resume) is written in order from its first seq', async () => {
    const { transport } = fakeTransport((req) => ({ delayMs: ((req.inputs.n as number) * 7919) % 7 }));
    for (const firstSeq of [undefined, 25]) {
      const { records } = countingRecords(60);
      const { sink, results } = memorySink<ItemResult>();
      const summary = await runBatch({
        source: fromAsyncIterable(records, { skip: 25 }),
        sink,
        transport,
        app: 'workflow',
        concurrency: 8,
        ...(firstSeq === undefined ? {} : { firstSeq }),
      });
      expect(results.map((r) => r.seq)).toEqual([...Array(35).keys()].map((i) => i + 25));
      expect(summary.written).toBe(35);
    }
  });

  it('retries retryable failures, records final ones without retry, and sends failures to the dead letter', async () => {
    const { transport } = fakeTransport((req, attempt) => {
      const n = req.inputs.n as number;
      if (n % 10 === 3) return { delayMs: 1, fail: 'final' };
      if (n % 10 === 5 && attempt < 3) return { delayMs: 1, fail: 'retryable' };
      return { delayMs: 1 };
    });
    const { records } = countingRecords(100);
    const out = memorySink<ItemResult>();
    const dead = memorySink<DeadLetterEntry>();
    const summary = await runBatch({
      source: fromAsyncIterable(records),
      sink: out.sink,
      deadLetter: dead.sink,
      transport,
      app: 'workflow',
      concurrency: 4,
      retry: fastRetry,
    });
    expect(summary).toMatchObject({ written: 100, succeeded: 90, failed: 10, retries: 20 });
    const failures = out.results.filter((r) => !r.ok);
    expect(failures.map((r) => r.seq)).toEqual([3, 13, 23, 33, 43, 53, 63, 73, 83, 93]);
    expect(failures.every((r) => r.attempts === 1 && !r.ok && r.error.status === 400)).toBe(true);
    expect(out.results.filter((r) => r.seq % 10 === 5).every((r) => r.ok && r.attempts === 3)).toBe(true);
    expect(dead.results.map((e) => e.item.inputs)).toEqual(failures.map((r) => ({ n: r.seq })));
  });

  it('turns a record that does not fit the app into a failed result naming the field, and goes on', async () => {
    const { transport, stats } = fakeTransport(() => ({ delayMs: 0 }));
    const { sink, results } = memorySink<ItemResult>();
    await runBatch({
      source: fromAsyncIterable([{ q: 'a' }, { nope: 1 }, { q: 'c' }]),
      sink,
      transport,
      app: 'chat',
      queryField: 'q',
    });
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const bad = results[1]!;
    expect(!bad.ok && bad.error.code).toBe('ERR_INPUT_INVALID');
    expect(!bad.ok && bad.error.message).toMatch(/record 1 .*"q"/);
    expect(stats.calls).toBe(2);
  });

  it('pauses the source behind a slow sink: reads never run more than `window` ahead of writes', async () => {
    const { transport } = fakeTransport(() => ({ delayMs: 0 }));
    const { records, state: source } = countingRecords(2000);
    const { sink, state } = memorySink<ItemResult>({ delayMs: 2, keep: false, aheadOf: source });
    const summary = await runBatch({
      source: fromAsyncIterable(records),
      sink,
      transport,
      app: 'workflow',
      concurrency: 4,
      window: 32,
      batch: { size: 8, maxWaitMs: 5 },
    });
    expect(summary.written).toBe(2000);
    // +1: an async generator may have begun producing the next value when we look.
    expect(state.maxAhead).toBeLessThanOrEqual(32 + 1);
    expect(summary.peakOutstanding).toBeLessThanOrEqual(32);
  });

  it('writes results as they complete with ordered: false', async () => {
    const { transport } = fakeTransport((req) => ({ delayMs: req.inputs.n === 0 ? 50 : 0 }));
    const { records } = countingRecords(20);
    const { sink, results } = memorySink<ItemResult>();
    await runBatch({
      source: fromAsyncIterable(records),
      sink,
      transport,
      app: 'workflow',
      ordered: false,
      concurrency: 4,
    });
    expect(results).toHaveLength(20);
    expect(results.at(-1)!.seq).toBe(0);
    expect(new Set(results.map((r) => r.seq)).size).toBe(20);
  });

  it('rejects bad options before reading anything', async () => {
    const { transport } = fakeTransport(() => ({ delayMs: 0 }));
    const { records, state } = countingRecords(10);
    const { sink } = memorySink<ItemResult>();
    const base = { source: fromAsyncIterable(records), sink, transport, app: 'workflow' as const };
    await expect(runBatch({ ...base, concurrency: 0 })).rejects.toThrow(
      'Expected `concurrency` to be an integer from 1 and up, got `0` (number)',
    );
    await expect(runBatch({ ...base, concurrency: 8, window: 4 })).rejects.toThrow(
      'Expected `window` to be at least `concurrency` (8), got `4` (number)',
    );
    await expect(runBatch({ ...base, drainSignal: 'soon' as unknown as AbortSignal })).rejects.toThrow(
      'Expected `drainSignal` to be an AbortSignal or undefined, got `"soon"` (string)',
    );
    await expect(runBatch({ ...base, files: { root: 7 as unknown as string } })).rejects.toThrow(
      'Expected `files.root` to be a non-empty string, got `7` (number)',
    );
    await expect(runBatch({ ...base, transport: undefined })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    expect(state.pulled).toBe(0);
  });

  it('drainSignal stops reading, finishes what was read and resolves', async () => {
    const { transport } = fakeTransport(() => ({ delayMs: 5 }));
    const { records } = countingRecords(100_000);
    const drain = new AbortController();
    const { sink, results } = memorySink<ItemResult>({
      onWrite: () => {
        if (!drain.signal.aborted) drain.abort();
      },
    });
    const summary = await runBatch({
      source: fromAsyncIterable(records),
      sink,
      transport,
      app: 'workflow',
      concurrency: 4,
      window: 16,
      drainSignal: drain.signal,
    });
    expect(summary.written).toBe(summary.read);
    expect(summary.read).toBeLessThan(100);
    expect(results.map((r) => r.seq)).toEqual([...Array(summary.read).keys()]);
  });

  it('signal aborts in-flight calls and rejects with the reason', async () => {
    const { transport, stats } = fakeTransport(() => ({ delayMs: 10_000 }));
    const { records } = countingRecords(100);
    const { sink, state } = memorySink<ItemResult>();
    const controller = new AbortController();
    const run = runBatch({
      source: fromAsyncIterable(records),
      sink,
      transport,
      app: 'workflow',
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('stop now')), 20);
    await expect(run).rejects.toThrow('stop now');
    expect(stats.inFlight).toBe(0);
    expect(state.closed).toBe(true);
  });

  it('fails the run with ERR_SINK_WRITE, the sink’s error as cause, when the sink fails', async () => {
    const { transport } = fakeTransport(() => ({ delayMs: 0 }));
    const { records } = countingRecords(10);
    const diskFull = new Error('disk full');
    const sink = {
      write: async () => {
        throw diskFull;
      },
      close: async () => {},
    };
    const error = await runBatch({
      source: fromAsyncIterable(records),
      sink,
      transport,
      app: 'workflow',
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DifyBatchError);
    expect(error).toMatchObject({ code: 'ERR_SINK_WRITE', message: 'the sink failed: disk full' });
    expect((error as Error).cause).toBe(diskFull);
  });
});

describe('difyResults', () => {
  it('yields results in order and stops the run when the consumer breaks', async () => {
    const { transport, stats } = fakeTransport(() => ({ delayMs: 1 }));
    const { records, state } = countingRecords(10_000);
    const seen: number[] = [];
    for await (const result of difyResults({
      source: fromAsyncIterable(records),
      transport,
      app: 'workflow',
      window: 16,
    })) {
      seen.push(result.seq);
      if (seen.length === 20) break;
    }
    expect(seen).toEqual([...Array(20).keys()]);
    expect(state.pulled).toBeLessThan(60);
    expect(stats.inFlight).toBe(0);
  });
});

describe('createDifyTransform', () => {
  it('works inside stream.pipeline with Node backpressure', async () => {
    const { transport } = fakeTransport((req) => ({ delayMs: (req.inputs.n as number) % 3 }));
    const out: ItemResult[] = [];
    await pipeline(
      Readable.from(Array.from({ length: 300 }, (_, n) => ({ n }))),
      createDifyTransform({ transport, app: 'workflow', concurrency: 8 }),
      new Writable({
        objectMode: true,
        write(chunk: ItemResult, _enc, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    expect(out.map((r) => r.seq)).toEqual([...Array(300).keys()]);
    expect(out.every((r) => r.ok)).toBe(true);
  });

  it('stops accepting records when its output is not read', async () => {
    const { transport } = fakeTransport(() => ({ delayMs: 0 }));
    const transform = createDifyTransform({ transport, app: 'workflow', concurrency: 2, window: 4 });
    const input = new PassThrough({ objectMode: true, highWaterMark: 1 });
    input.pipe(transform);
    let accepted = 0;
    for (let n = 0; n < 200; n++) {
      if (!input.write({ n })) break;
      accepted++;
      await new Promise((r) => setImmediate(r));
    }
    expect(accepted).toBeLessThan(100);
    transform.destroy();
  });
});
