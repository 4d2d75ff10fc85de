import type { Item } from '../core/Item.js';
import { checkOption } from '../internal/checkOption.js';
import { raceAbort } from '../internal/raceAbort.js';
import { createItemizer, type ItemContext } from './internal/createItemizer.js';
import { resolveSourceOptions } from './internal/resolveSourceOptions.js';
import type { SourceOptions } from './SourceOptions.js';

/**
 * Options of {@link fromAsyncIterable}.
 * @category sources
 */
export interface FromAsyncIterableOptions extends SourceOptions {
  /**
   * The `position.partition` of every item.
   * @defaultValue `undefined` (no partition)
   */
  readonly partition?: string | undefined;
}

/**
 * Turns plain records from any (async) iterable into items: a generator, a database cursor, an array.
 *
 * @remarks
 * Pulls one record per `next()`. A value that is not a plain object, or lacks its `idField`, becomes an
 * `ERR_SOURCE_PARSE` error item (message `record 3: …`) and the iteration goes on. Records from a
 * dead-letter file are restored as in {@link fromFile}: `_error` is removed, and one with `_raw`
 * (never parsed) stays an error item.
 * `position.offset` is the number of records read through this one, so `skip: offset` resumes after it.
 * On abort, a pending `next()` rejects with `signal.reason` at once and the iterable's `return()` is called.
 *
 * @param iterable - Plain records, e.g. `{ query: 'hi' }`.
 * @param options - The options every source takes, plus a partition name.
 * @returns A single-use async iterable of items with dense `seq` from 0.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for bad options. The iterator rejects
 * with what the iterable throws, or with `signal.reason` on abort.
 * @example
 * ```ts
 * import { fromAsyncIterable } from 'dify-batch';
 *
 * const items = fromAsyncIterable([{ id: 'x', q: 'a' }, 42], { idField: 'id' });
 * for await (const item of items) console.log(item.seq, item.id, item.error?.message);
 * // Output:
 * // 0 x undefined
 * // 1 1 record 2: expected a JSON object, got a number
 * ```
 * @see fromReadable
 * @since 0.1.0
 * @category sources
 */
export function fromAsyncIterable(
  iterable: AsyncIterable<unknown> | Iterable<unknown>,
  options?: Readonly<FromAsyncIterableOptions>,
): AsyncIterable<Item> {
  const resolved = resolveSourceOptions(options);
  const iterate =
    (iterable as AsyncIterable<unknown>)?.[Symbol.asyncIterator] ??
    (iterable as Iterable<unknown>)?.[Symbol.iterator];
  checkOption(typeof iterate === 'function', 'iterable', 'an iterable or async iterable', iterable);
  return readRecords(iterable, { ...resolved, partition: options?.partition });
}

async function* readRecords(
  iterable: AsyncIterable<unknown> | Iterable<unknown>,
  ctx: ItemContext,
): AsyncGenerator<Item> {
  const { signal } = ctx;
  signal?.throwIfAborted();
  const itemize = createItemizer(ctx);
  const isAsync = Symbol.asyncIterator in iterable;
  const iterator: AsyncIterator<unknown> | Iterator<unknown> = isAsync
    ? iterable[Symbol.asyncIterator]()
    : iterable[Symbol.iterator]();
  let done = false;
  try {
    for (let record = 1; ; record++) {
      // A sync iterable (an array, a generator) answers at once: no await (a Promise and a turn per
      // record) on top of the one the consumer's own next() costs; the signal was checked after the
      // last yield.
      const next = isAsync
        ? await raceAbort(Promise.resolve(iterator.next()), signal)
        : (iterator as Iterator<unknown>).next();
      if (next.done) {
        done = true;
        return;
      }
      const item = itemize({ value: next.value, record, offset: record });
      if (item === undefined) continue;
      yield item;
      signal?.throwIfAborted();
    }
  } finally {
    // Not awaited: after an abort the iterable may still be busy with the pending next().
    if (!done) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}
