import { getEventListeners } from 'node:events';
import { firstValueFrom, map, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import { creditGate } from '../../src/pipeline/creditGate.js';
import { settle } from '../operators/virtualTime.js';

interface Probe {
  nextCalls: number;
  /** next() calls not yet settled, and the most ever at once. */
  pending: number;
  maxPending: number;
  returned: number;
}

/**
 * An iterator over `count` numbers that records how it is driven. `hold: true` keeps each next()
 * pending until `step()` resolves it; `failAt` rejects that call; `endless` never finishes.
 */
function probeSource(count: number, options: { hold?: boolean; failAt?: number; endless?: boolean } = {}) {
  const probe: Probe = { nextCalls: 0, pending: 0, maxPending: 0, returned: 0 };
  const held: (() => void)[] = [];
  let i = 0;
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        probe.nextCalls++;
        probe.pending++;
        probe.maxPending = Math.max(probe.maxPending, probe.pending);
        const index = i++;
        return new Promise<IteratorResult<number>>((resolve, reject) => {
          const settleIt = () => {
            probe.pending--;
            if (index === options.failAt) reject(new Error(`disk error at ${index}`));
            else if (index >= count && !options.endless) resolve({ done: true, value: undefined });
            else resolve({ done: false, value: index });
          };
          if (options.hold || (options.endless && index >= count)) held.push(settleIt);
          else queueMicrotask(settleIt);
        });
      },
      return: () => {
        probe.returned++;
        return Promise.resolve({ done: true as const, value: undefined });
      },
    }),
  };
  return { iterable, probe, step: () => held.shift()?.() };
}

describe('creditGate', () => {
  it('reads up to window items on subscribe, one next() at a time', async () => {
    const { iterable, probe } = probeSource(10);
    const gate = creditGate(iterable, { window: 3 });
    const seen: number[] = [];
    gate.items.subscribe((v) => seen.push(v));
    await settle();
    expect(seen).toEqual([0, 1, 2]);
    expect(probe.nextCalls).toBe(3);
    expect(probe.maxPending).toBe(1);
    expect(gate.outstanding).toBe(3);
    expect(gate.pulled).toBe(3);
  });

  it('reads one more item per released credit, never more than window outstanding', async () => {
    const { iterable, probe } = probeSource(10);
    const gate = creditGate(iterable, { window: 3 });
    const seen: number[] = [];
    gate.items.subscribe((v) => {
      expect(gate.outstanding).toBeLessThanOrEqual(3);
      seen.push(v);
    });
    await settle();
    gate.release();
    await settle();
    expect(seen).toEqual([0, 1, 2, 3]);
    gate.release(2);
    await settle();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(probe.nextCalls).toBe(6);
    expect(gate.outstanding).toBe(3);
  });

  it('completes once the source is done, without calling return()', async () => {
    const { iterable, probe } = probeSource(3);
    const gate = creditGate(iterable, { window: 10 });
    const all = firstValueFrom(gate.items.pipe(toArray()));
    expect(await all).toEqual([0, 1, 2]);
    expect(probe.returned).toBe(0);
  });

  it('keeps reading when the consumer releases synchronously inside next()', async () => {
    const { iterable, probe } = probeSource(50);
    const gate = creditGate(iterable, { window: 1 });
    const seen: number[] = [];
    await new Promise<void>((resolve) =>
      gate.items.subscribe({
        next: (v) => {
          seen.push(v);
          gate.release();
        },
        complete: resolve,
      }),
    );
    expect(seen).toHaveLength(50);
    expect(probe.maxPending).toBe(1);
  });

  it('errors with ERR_SOURCE_READ carrying the cause when the source rejects, without return()', async () => {
    const { iterable, probe } = probeSource(10, { failAt: 2 });
    const gate = creditGate(iterable, { window: 5 });
    const seen: number[] = [];
    const error = await new Promise<unknown>((resolve) =>
      gate.items.subscribe({ next: (v) => seen.push(v), error: resolve }),
    );
    expect(seen).toEqual([0, 1]);
    expect(error).toBeInstanceOf(DifyBatchError);
    expect(error).toMatchObject({
      code: 'ERR_SOURCE_READ',
      message: 'Reading the source failed: disk error at 2',
    });
    expect((error as Error).cause).toEqual(new Error('disk error at 2'));
    expect(probe.returned).toBe(0);
  });

  it('completeOnError completes instead, keeping the error, so what was read can drain', async () => {
    const { iterable, probe } = probeSource(10, { failAt: 3 });
    const gate = creditGate(iterable, { window: 5, completeOnError: true });
    expect(gate.error).toBeUndefined();
    const seen: number[] = [];
    await new Promise<void>((resolve, reject) =>
      gate.items.subscribe({ next: (v) => seen.push(v), error: reject, complete: resolve }),
    );
    expect(seen).toEqual([0, 1, 2]);
    expect(gate.error).toMatchObject({
      code: 'ERR_SOURCE_READ',
      message: 'Reading the source failed: disk error at 3',
    });
    expect(gate.outstanding).toBe(3);
    expect(probe.returned).toBe(0);
    expect(() => creditGate(iterable, { completeOnError: 'yes' as never })).toThrow(
      /Expected `completeOnError` to be a boolean/,
    );
  });

  it('maps synchronous throws from the iterator, and passes an ERR_SOURCE_READ through unchanged', async () => {
    const own = new DifyBatchError('ERR_SOURCE_READ', 'cannot open rows.csv');
    const sources: AsyncIterable<number>[] = [
      {
        [Symbol.asyncIterator]: () => {
          throw new Error('no iterator');
        },
      },
      {
        [Symbol.asyncIterator]: () => ({
          next: () => {
            throw own;
          },
        }),
      },
    ];
    const errors = await Promise.all(
      sources.map((source) =>
        firstValueFrom(creditGate(source, { window: 1 }).items).catch((e: unknown) => e),
      ),
    );
    expect(errors[0]).toMatchObject({
      code: 'ERR_SOURCE_READ',
      message: 'Reading the source failed: no iterator',
    });
    expect(errors[1]).toBe(own);
  });

  it('calls return() on early unsubscribe (take)', async () => {
    const { iterable, probe } = probeSource(100);
    const gate = creditGate(iterable, { window: 10 });
    expect(await firstValueFrom(gate.items.pipe(take(2), toArray()))).toEqual([0, 1]);
    expect(probe.returned).toBe(1);
    expect(probe.nextCalls).toBe(2);
  });

  it('calls return() when a downstream callback throws', async () => {
    const { iterable, probe } = probeSource(100);
    const gate = creditGate(iterable, { window: 10 });
    const bug = new Error('consumer bug');
    const outcome = firstValueFrom(
      gate.items.pipe(
        map(() => {
          throw bug;
        }),
      ),
    ).catch((e: unknown) => e);
    expect(await outcome).toBe(bug);
    expect(probe.returned).toBe(1);
  });

  it('stops reading on abort: return() is called, items completes, the pending value is dropped', async () => {
    const { iterable, probe, step } = probeSource(10, { hold: true });
    const controller = new AbortController();
    const gate = creditGate(iterable, { window: 5, signal: controller.signal });
    const seen: number[] = [];
    let completed = false;
    gate.items.subscribe({
      next: (v) => seen.push(v),
      complete: () => {
        completed = true;
      },
    });
    step();
    await settle();
    expect(seen).toEqual([0]);
    expect(probe.pending).toBe(1);
    controller.abort(new Error('SIGINT'));
    expect(completed).toBe(true);
    expect(probe.returned).toBe(1);
    step(); // the read in progress finishes after the abort
    await settle();
    expect(seen).toEqual([0]);
    expect(gate.pulled).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('completes without reading when the signal is already aborted', async () => {
    const { iterable, probe } = probeSource(10);
    const gate = creditGate(iterable, { window: 5, signal: AbortSignal.abort() });
    expect(await firstValueFrom(gate.items.pipe(toArray()))).toEqual([]);
    expect(probe.nextCalls).toBe(0);
  });

  it('completes at once for an empty source', async () => {
    async function* empty(): AsyncGenerator<number> {}
    expect(await firstValueFrom(creditGate(empty(), { window: 2 }).items.pipe(toArray()))).toEqual([]);
  });

  it('calls return() on unsubscribe while a never-ending source is waiting', async () => {
    const { iterable, probe } = probeSource(1, { endless: true });
    const controller = new AbortController();
    const gate = creditGate(iterable, { window: 4, signal: controller.signal });
    const seen: number[] = [];
    const subscription = gate.items.subscribe((v) => seen.push(v));
    await settle();
    expect(seen).toEqual([0]);
    expect(probe.pending).toBe(1);
    subscription.unsubscribe();
    expect(probe.returned).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('allows one subscription only', async () => {
    const { iterable } = probeSource(3);
    const gate = creditGate(iterable, { window: 1 });
    gate.items.subscribe();
    await expect(firstValueFrom(gate.items)).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('refuses to release more credits than are outstanding', async () => {
    const { iterable } = probeSource(3);
    const gate = creditGate(iterable, { window: 2 });
    gate.items.subscribe();
    await settle();
    expect(() => gate.release(3)).toThrow(
      'Expected `count` to be an integer from 0 to 2 (the outstanding items), got `3` (number)',
    );
    expect(() => gate.release(-1)).toThrow(/`count`/);
    expect(() => gate.release(0.5)).toThrow(/`count`/);
    gate.release(0);
    expect(gate.outstanding).toBe(2);
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    const { iterable } = probeSource(1);
    expect(() => creditGate(iterable, { window: 0 })).toThrow(/`window`/);
    expect(() => creditGate(iterable, { window: Number.POSITIVE_INFINITY })).toThrow(/`window`/);
    expect(() => creditGate([1, 2] as unknown as AsyncIterable<number>)).toThrow(/`source`.*AsyncIterable/);
  });
});
