import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { checkInteger, checkNumber, checkScheduler } from '../internal/checkOption.js';
import { subscribeUpstream } from '../internal/subscribeUpstream.js';

/** Options of {@link batch}. */
export interface BatchOptions {
  /** A batch is emitted as soon as it holds this many values. An integer ≥ 1 or `Infinity`. */
  readonly size: number;
  /**
   * A partial batch is emitted this long after its *first* value arrived. `Infinity` = only on
   * size and on completion.
   * @defaultValue Infinity
   */
  readonly maxWaitMs?: number;
  /**
   * Clock of `maxWaitMs` (a TestScheduler makes it virtual).
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
}

/** Defaults of {@link BatchOptions}. */
export const BATCH_DEFAULTS = Object.freeze({
  maxWaitMs: Number.POSITIVE_INFINITY,
  scheduler: asyncScheduler as SchedulerLike,
});

/**
 * Groups values into arrays of up to `size`, emitted when `size` is reached or `maxWaitMs` after the
 * first value of the batch, whichever comes first.
 *
 * @remarks
 * - **Ordering:** values keep their order, within and across batches; batches concatenate back to
 *   the input exactly.
 * - **Never empty:** the timer starts with a batch's first value, so an idle stream emits nothing.
 * - **Completion:** the partial batch is flushed, then the output completes.
 * - **Errors:** a source error is forwarded and the partial batch is dropped (its values were not
 *   acknowledged, so a credit loop or a resume re-runs them).
 * - **Backpressure:** holds at most `size` values.
 * - **Cancellation:** unsubscribing cancels the pending timer.
 * - Unlike `bufferTime`, the options are named; nothing is guessed from argument types.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { batch } from 'dify-batch/operators';
 *
 * of(1, 2, 3, 4, 5)
 *   .pipe(batch({ size: 2, maxWaitMs: 100 }))
 *   .subscribe((values) => console.log(values));
 * // Output:
 * // [ 1, 2 ]
 * // [ 3, 4 ]
 * // [ 5 ]
 * ```
 *
 * @param options - `size`, `maxWaitMs`, `scheduler`; see {@link BATCH_DEFAULTS}.
 * @returns An operator emitting non-empty arrays.
 * @throws `ERR_INVALID_OPTION` for a bad `size`, `maxWaitMs` or `scheduler`.
 * @category operators
 */
export function batch<T>(options: Readonly<BatchOptions>): OperatorFunction<T, T[]> {
  const { size, maxWaitMs, scheduler } = { ...BATCH_DEFAULTS, ...options };
  checkInteger('size', size, 1, true);
  checkNumber('maxWaitMs', maxWaitMs, 0, { allowInfinity: true });
  checkScheduler(scheduler);
  const timed = Number.isFinite(maxWaitMs);

  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = [];
      let timer: Subscription | undefined;
      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        // Swap before emitting: a re-entrant value during next() starts a fresh batch.
        const full = buffer;
        buffer = [];
        if (full.length > 0) subscriber.next(full);
      };
      subscriber.add(() => {
        timer?.unsubscribe();
        buffer = [];
      });
      subscribeUpstream(source, subscriber, {
        next: (value) => {
          buffer.push(value);
          if (buffer.length >= size) flush();
          else if (timed && buffer.length === 1) timer = scheduler.schedule(flush, maxWaitMs);
        },
        error: (error: unknown) => {
          buffer = [];
          subscriber.error(error);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
    });
}
