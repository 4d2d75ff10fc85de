import { defer, type MonoTypeOperatorFunction, mergeMap, tap } from 'rxjs';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { checkInteger } from '../internal/checkOption.js';

/** Options of {@link reorder}. */
export interface ReorderOptions {
  /**
   * The `seq` of the first value (a resumed run starts past 0), or a function that tells it when the
   * first value arrives (runBatch passes the `seq` of the first item it read, known only by then).
   * @defaultValue 0
   */
  readonly firstSeq?: number | (() => number);
  /**
   * Most values held while waiting for a gap to fill; one more is an error. The pipeline sets it
   * to its credit window, which guarantees it is never exceeded.
   * @defaultValue 10000
   */
  readonly maxBuffered?: number;
}

/** Defaults of {@link ReorderOptions}. */
export const REORDER_DEFAULTS = Object.freeze({ firstSeq: 0, maxBuffered: 10_000 });

/**
 * Restores dense `seq` order: emits `firstSeq`, `firstSeq + 1`, … as soon as each is available,
 * holding values that arrive early.
 *
 * @remarks
 * - **Ordering:** output `seq` is strictly increasing by 1; a value is emitted as soon as all
 *   lower `seq` have been.
 * - **Backpressure:** bounded: holding more than `maxBuffered` values errors (overflow policy
 *   `"error"`; nothing is dropped silently).
 * - **Errors:** `ERR_INTERNAL` for a duplicate or already-emitted `seq`, for an overflow, and on
 *   completion with a gap (the message names the first missing `seq`). Source errors are forwarded
 *   at once; held values are dropped.
 * - **Cancellation:** unsubscribing drops the held values.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { reorder } from 'dify-batch/operators';
 *
 * of({ seq: 2 }, { seq: 0 }, { seq: 1 })
 *   .pipe(reorder())
 *   .subscribe(({ seq }) => console.log(seq));
 * // Output:
 * // 0
 * // 1
 * // 2
 * ```
 *
 * @param options - `firstSeq` and `maxBuffered`; see {@link REORDER_DEFAULTS}.
 * @returns An operator emitting the same values in `seq` order.
 * @throws `ERR_INVALID_OPTION` for a bad option.
 * @category operators
 */
export function reorder<T extends { readonly seq: number }>(
  options: Readonly<ReorderOptions> = {},
): MonoTypeOperatorFunction<T> {
  const { firstSeq, maxBuffered } = { ...REORDER_DEFAULTS, ...options };
  if (typeof firstSeq !== 'function') checkInteger('firstSeq', firstSeq, 0);
  checkInteger('maxBuffered', maxBuffered, 0, true);

  return (source) =>
    defer(() => {
      const held = new Map<number, T>();
      let nextSeq = typeof firstSeq === 'function' ? -1 : firstSeq;
      return source.pipe(
        // Throwing inside mergeMap's project errors the output; returning an array emits it in order.
        mergeMap((value) => {
          if (nextSeq === -1) nextSeq = checkInteger('firstSeq', (firstSeq as () => number)(), 0);
          const { seq } = value;
          if (!Number.isInteger(seq) || seq < nextSeq || held.has(seq)) {
            throw new DifyBatchError(
              'ERR_INTERNAL',
              `reorder: seq ${String(seq)} is a duplicate or out of range (next expected: ${nextSeq})`,
            );
          }
          // In order with nothing held (the common case): no map traffic.
          if (seq === nextSeq && held.size === 0) {
            nextSeq++;
            return [value];
          }
          held.set(seq, value);
          const ready: T[] = [];
          for (let head = held.get(nextSeq); head !== undefined; head = held.get(nextSeq)) {
            held.delete(nextSeq);
            ready.push(head);
            nextSeq++;
          }
          if (held.size > maxBuffered) {
            throw new DifyBatchError(
              'ERR_INTERNAL',
              `reorder: ${held.size} values held waiting for seq ${nextSeq}, more than maxBuffered (${maxBuffered})`,
            );
          }
          return ready;
        }),
        tap({
          complete: () => {
            if (held.size > 0) {
              throw new DifyBatchError(
                'ERR_INTERNAL',
                `reorder: the source completed without seq ${nextSeq} (${held.size} later values held)`,
              );
            }
          },
        }),
      );
    });
}
