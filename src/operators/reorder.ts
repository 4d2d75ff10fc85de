import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { checkInteger } from '../internal/checkOption.js';
import { subscribeUpstream } from '../internal/subscribeUpstream.js';

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
 * - **Cost:** one subscriber; values that arrive in order pass straight through, early ones wait in a
 *   ring indexed by `seq − next expected` (no allocation per value). A value more than 2^24 ahead of the
 *   next expected `seq` is an error (`ERR_INTERNAL`) instead of an allocation.
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
    new Observable<T>((subscriber) => {
      // Held values in a ring indexed by distance from `nextSeq` (slot `(head + seq − nextSeq) & mask`):
      // no Map entry, no array per value. It grows (doubling) only when a value lands beyond it.
      let ring: (T | undefined)[] = new Array<T | undefined>(INITIAL_CAPACITY).fill(undefined);
      let mask = INITIAL_CAPACITY - 1;
      let head = 0;
      let held = 0;
      let nextSeq = typeof firstSeq === 'function' ? -1 : firstSeq;
      const fail = (message: string): void => subscriber.error(new DifyBatchError('ERR_INTERNAL', message));
      const grow = (distance: number): void => {
        let capacity = ring.length * 2;
        while (capacity <= distance) capacity *= 2;
        const grown = new Array<T | undefined>(capacity).fill(undefined);
        for (let i = 0; i < ring.length; i++) grown[i] = ring[(head + i) & mask];
        ring = grown;
        mask = capacity - 1;
        head = 0;
      };
      subscriber.add(() => {
        ring = [];
        held = 0;
      });
      subscribeUpstream(source, subscriber, {
        next: (value) => {
          if (nextSeq === -1) {
            try {
              nextSeq = checkInteger('firstSeq', (firstSeq as () => number)(), 0);
            } catch (error) {
              subscriber.error(error);
              return;
            }
          }
          const { seq } = value;
          // In order with nothing held (the common case): straight through, no ring traffic.
          if (seq === nextSeq && held === 0) {
            nextSeq++;
            subscriber.next(value);
            return;
          }
          const distance = seq - nextSeq;
          if (!Number.isInteger(seq) || distance < 0) {
            fail(`reorder: seq ${String(seq)} is a duplicate or out of range (next expected: ${nextSeq})`);
            return;
          }
          // A seq this far ahead is a bug upstream (a credit window bounds the real distance): refuse it
          // rather than allocate for it.
          if (distance > MAX_DISTANCE) {
            fail(`reorder: seq ${seq} is ${distance} ahead of the next expected seq ${nextSeq}`);
            return;
          }
          if (distance >= ring.length) grow(distance);
          const slot = (head + distance) & mask;
          if (ring[slot] !== undefined) {
            fail(`reorder: seq ${seq} is a duplicate or out of range (next expected: ${nextSeq})`);
            return;
          }
          ring[slot] = value;
          held++;
          // State is updated before each emission, so a value arriving re-entrantly finds it consistent.
          for (let ready = ring[head]; ready !== undefined && !subscriber.closed; ready = ring[head]) {
            ring[head] = undefined;
            head = (head + 1) & mask;
            held--;
            nextSeq++;
            subscriber.next(ready);
          }
          if (held > maxBuffered) {
            fail(
              `reorder: ${held} values held waiting for seq ${nextSeq}, more than maxBuffered (${maxBuffered})`,
            );
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          if (held > 0) {
            fail(`reorder: the source completed without seq ${nextSeq} (${held} later values held)`);
            return;
          }
          subscriber.complete();
        },
      });
    });
}

/** Ring slots allocated up front (a power of two; the ring doubles from there when needed). */
const INITIAL_CAPACITY = 64;
/** Farthest a held value may be from the next expected seq (2^24: 16M slots, 128 MB of pointers). */
const MAX_DISTANCE = 2 ** 24;
