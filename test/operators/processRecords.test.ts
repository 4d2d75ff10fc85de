import fc from 'fast-check';
import { firstValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/Item.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import type { DifyRequest, DifyResult } from '../../src/dify/DifyRequest.js';
import { PROCESS_RECORDS_DEFAULTS, processRecords } from '../../src/operators/processRecords.js';

const toRequest = (it: Item): DifyRequest => ({
  app: 'workflow',
  inputs: it.inputs,
  user: 'u',
  responseMode: 'blocking',
});

async function* records(count: number, first = 0): AsyncGenerator<Item> {
  for (let seq = first; seq < first + count; seq++) yield { seq, id: `r${seq}`, inputs: { n: seq } };
}

/** A transport whose calls answer after `delays[n % length]` macrotask turns; tracks reads vs. acks. */
function slowTransport(delays: readonly number[]) {
  let inFlight = 0;
  let peakInFlight = 0;
  let calls = 0;
  const transport = async (request: DifyRequest): Promise<DifyResult> => {
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    const turns = delays[calls++ % delays.length]!;
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    return { outputs: { twice: (request.inputs.n as number) * 2 } };
  };
  return { transport, peak: () => peakInFlight };
}

describe('processRecords', () => {
  it('defaults are keyed by option name, derived ones as functions', () => {
    expect(PROCESS_RECORDS_DEFAULTS.concurrency).toBe(16);
    expect(PROCESS_RECORDS_DEFAULTS.window(8)).toBe(128);
    expect(PROCESS_RECORDS_DEFAULTS.batch.size(64)).toBe(64);
    expect(PROCESS_RECORDS_DEFAULTS.batch.size(1000)).toBe(100);
    expect(PROCESS_RECORDS_DEFAULTS.batch.maxWaitMs).toBe(50);
    expect(PROCESS_RECORDS_DEFAULTS.ordered).toBe(true);
  });

  it('property: one result per record, in order, in-flight ≤ concurrency, outstanding ≤ window — credits come back on acknowledgement only', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 16 }),
        fc.boolean(),
        async (count, concurrency, extraWindow, size, delays, ordered) => {
          const window = concurrency + extraWindow;
          const { transport, peak } = slowTransport(delays);
          let outstanding = 0;
          let peakOutstanding = 0;
          const written: ItemResult[] = [];
          const batches = await firstValueFrom(
            of(records(count)).pipe(
              processRecords(transport, {
                toRequest,
                concurrency,
                window,
                ordered,
                batch: { size, maxWaitMs: 1 },
                onRead: (_item, now) => {
                  outstanding = now;
                  peakOutstanding = Math.max(peakOutstanding, now);
                },
                write: async (results) => {
                  // A slow sink: the credits must not come back before this resolves.
                  await new Promise((resolve) => setImmediate(resolve));
                  written.push(...results);
                },
              }),
              toArray(),
            ),
          );
          expect(batches.flat()).toEqual(written);
          expect(written.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
            Array.from({ length: count }, (_, i) => i),
          );
          if (ordered) expect(written.map((r) => r.seq)).toEqual(Array.from({ length: count }, (_, i) => i));
          expect(written.every((r) => r.ok && r.outputs.twice === r.seq * 2)).toBe(true);
          expect(peak()).toBeLessThanOrEqual(concurrency);
          expect(peakOutstanding).toBeLessThanOrEqual(window);
          expect(outstanding).toBeLessThanOrEqual(window);
          for (const b of batches) expect(b.length).toBeLessThanOrEqual(Math.min(size, window));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('skips records done elsewhere (no call, no result) and returns their credit at once', async () => {
    const called: number[] = [];
    const transport = async (request: DifyRequest): Promise<DifyResult> => {
      called.push(request.inputs.n as number);
      return { outputs: {} };
    };
    const results = await firstValueFrom(
      of(records(10)).pipe(
        processRecords(transport, {
          toRequest,
          concurrency: 1,
          window: 1,
          ordered: false,
          skip: (item) => item.seq % 2 === 0,
          write: () => {},
        }),
        toArray(),
      ),
    );
    expect(results.flat().map((r) => r.seq)).toEqual([1, 3, 5, 7, 9]);
    expect(called).toEqual([1, 3, 5, 7, 9]);
  });

  it('a failing source: records read are finished and written, then onSourceError receives ERR_SOURCE_READ', async () => {
    async function* breaks(): AsyncGenerator<Item> {
      yield* records(3);
      throw new Error('truncated input');
    }
    const transport = async (): Promise<DifyResult> => ({ outputs: {} });
    const errors: Error[] = [];
    const written = await firstValueFrom(
      of(breaks()).pipe(
        processRecords(transport, {
          toRequest,
          concurrency: 2,
          write: () => {},
          onSourceError: (error) => errors.push(error),
        }),
        toArray(),
      ),
    );
    expect(written.flat().map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as { code?: string }).code).toBe('ERR_SOURCE_READ');
    // Without the hook the output errors with it.
    const outcome = await firstValueFrom(
      of(breaks()).pipe(processRecords(transport, { toRequest, write: () => {} }), toArray()),
    ).catch((e: unknown) => e);
    expect((outcome as { code?: string }).code).toBe('ERR_SOURCE_READ');
  });

  it('a rejected write errors the output with that error', async () => {
    const transport = async (): Promise<DifyResult> => ({ outputs: {} });
    const boom = new Error('disk full');
    const outcome = await firstValueFrom(
      of(records(5)).pipe(
        processRecords(transport, {
          toRequest,
          write: () => Promise.reject(boom),
        }),
      ),
    ).catch((e: unknown) => e);
    expect(outcome).toBe(boom);
  });

  it('starts the ordered output at the first record read (a resumed source), or at firstSeq', async () => {
    const transport = async (): Promise<DifyResult> => ({ outputs: {} });
    const run = (firstSeq?: number) =>
      firstValueFrom(
        of(records(4, 100)).pipe(
          processRecords(transport, {
            toRequest,
            write: () => {},
            ...(firstSeq === undefined ? {} : { firstSeq }),
          }),
          toArray(),
        ),
      ).catch((e: unknown) => e);
    expect(((await run()) as ItemResult[][]).flat().map((r) => r.seq)).toEqual([100, 101, 102, 103]);
    // A firstSeq before the first record read leaves a gap the reorder reports.
    expect(((await run(99)) as { code?: string }).code).toBe('ERR_INTERNAL');
  });

  it('rejects bad options with ERR_INVALID_OPTION before reading anything', () => {
    const transport = async (): Promise<DifyResult> => ({ outputs: {} });
    const write = () => {};
    expect(() => processRecords(transport, { toRequest, write, concurrency: 8, window: 4 })).toThrow(
      /`window`/,
    );
    expect(() => processRecords(transport, { toRequest, write, batch: { size: 0 } })).toThrow(/`batch.size`/);
    expect(() =>
      processRecords(transport, { toRequest, write: undefined as unknown as typeof write }),
    ).toThrow(/`write`/);
    expect(() => processRecords(transport, { toRequest, write, concurrency: 0 })).toThrow(/`concurrency`/);
  });
});
