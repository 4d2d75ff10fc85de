import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { collect } from './fixtures.js';

describe('fromAsyncIterable', () => {
  it('numbers records densely, uses idField, and makes non-objects error items', async () => {
    async function* records() {
      yield { id: 'x', q: 1 };
      yield 42;
      yield { q: 2 };
      yield { id: 9 };
    }
    const items = await collect(fromAsyncIterable(records(), { idField: 'id', partition: 'gen' }));
    expect(items.map((i) => [i.seq, i.id, i.error?.message])).toEqual([
      [0, 'x', undefined],
      [1, '1', 'record 2: expected a JSON object, got a number'],
      [2, '2', 'record 3: id field `id` is missing'],
      [3, '9', undefined],
    ]);
    expect(items[1]?.inputs).toEqual({ _raw: '42' });
    expect(items[3]?.position).toEqual({ partition: 'gen', offset: 4 });
  });

  it('accepts sync iterables and skips for resume (position.offset is the skip that resumes after it)', async () => {
    const records = [{ q: 'a' }, { q: 'b' }, { q: 'c' }];
    const all = await collect(fromAsyncIterable(records));
    const resumed = await collect(fromAsyncIterable(records, { skip: all[0]?.position?.offset ?? 0 }));
    expect(resumed.map((i) => [i.seq, i.inputs.q])).toEqual([
      [1, 'b'],
      [2, 'c'],
    ]);
  });

  it('pulls one record per next() (no read-ahead)', async () => {
    let pulled = 0;
    function* records() {
      for (;;) {
        pulled++;
        yield { n: pulled };
      }
    }
    const iterator = fromAsyncIterable(records())[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) await iterator.next();
    expect(pulled).toBe(5);
    await iterator.return?.();
  });

  it('rejects a pending next() with the abort reason and calls return() on the iterable', async () => {
    let returned = false;
    const never: AsyncIterable<unknown> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<unknown>>(() => {}),
        return: async () => {
          returned = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const controller = new AbortController();
    const iterator = fromAsyncIterable(never, { signal: controller.signal })[Symbol.asyncIterator]();
    const pending = iterator.next();
    const reason = new Error('bye');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(returned).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('passes on what the iterable throws', async () => {
    async function* failing() {
      yield { q: 1 };
      throw new Error('cursor lost');
    }
    await expect(collect(fromAsyncIterable(failing()))).rejects.toThrow('cursor lost');
  });

  it('rejects a non-iterable synchronously', () => {
    expect(() => fromAsyncIterable(5 as unknown as Iterable<unknown>)).toThrow(
      'Expected `iterable` to be an iterable or async iterable, got `5` (number)',
    );
  });
});
