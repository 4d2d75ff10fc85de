import { Observable } from 'rxjs';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { checkBoolean, checkInteger, checkOption, checkSignal } from '../internal/checkOption.js';

/** Options of {@link creditGate}. */
export interface CreditGateOptions {
  /**
   * Most items read but not yet released. Bounds everything downstream (in flight, reorder buffer,
   * batches): memory is O(window) whatever the input size.
   * @defaultValue 64
   */
  readonly window?: number;
  /**
   * Stops reading: the iterator is closed (`return()`), and `items` completes so downstream can
   * drain what it holds. Abort the downstream work separately if it must stop too.
   * @defaultValue undefined
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * When the source fails, complete `items` instead of erroring it, and keep the error in
   * {@link CreditGate.error}: downstream finishes and writes every item already read (calls already
   * paid for), then the consumer reports the error.
   * @defaultValue false
   */
  readonly completeOnError?: boolean;
}

/** Defaults of {@link CreditGateOptions}. */
export const CREDIT_GATE_DEFAULTS = Object.freeze({ window: 64, completeOnError: false });

/** A pull-based source turned into an Observable that reads only as fast as credits come back. */
export interface CreditGate<T> {
  /** Cold and single-subscriber: subscribing starts reading; a second subscription errors. */
  readonly items: Observable<T>;
  /**
   * Returns credits for items that are done (written by the sink); each lets one more item be read.
   * @throws `ERR_INVALID_OPTION` when `count` is not an integer from 0 to `outstanding`.
   */
  release(count?: number): void;
  /** Items read and not yet released: always ≤ window. */
  readonly outstanding: number;
  /** Items read so far. */
  readonly pulled: number;
  /** With `completeOnError`: the ERR_SOURCE_READ that ended reading, once it happened. */
  readonly error: DifyBatchError | undefined;
}

/**
 * Turns an AsyncIterable into an Observable with real backpressure: at most `window` items between
 * "read" and "released". RxJS is push-only (`from(asyncIterable)` reads as fast as it can and
 * `mergeMap` queues without bound), so the pull happens here, one item per credit.
 *
 * @remarks
 * - **Backpressure:** on subscribe, reads up to `window` items, one `next()` at a time (never two
 *   concurrently), then one more per released credit. Invariant: `pulled − released ≤ window`.
 * - **Ordering:** items are emitted in the iterator's order.
 * - **Liveness:** the end of the source is only seen by one more `next()`, which needs a free
 *   credit like any read. A stage that waits for completion while holding items (a `batch` with no
 *   `maxWaitMs`) must therefore never hold `window` of them: keep batch size ≤ window, or time-bound it.
 * - **Errors:** if the iterator throws or rejects, `items` errors with a fatal
 *   `DifyBatchError` `ERR_SOURCE_READ` whose `cause` is the original error (one that already has
 *   that code passes through unchanged). As with `for await`, `return()` is then not called.
 *   With `completeOnError`, `items` completes instead and the error is kept in `error`.
 * - **Cancellation:** unsubscribing or aborting `signal` calls `iterator.return()` (not awaited, its
 *   errors ignored); a value still being read is dropped (never emitted, never counted). Abort
 *   completes `items` rather than erroring it, so the pipeline can drain in-flight work.
 *
 * @example
 * ```ts
 * import { creditGate } from 'dify-batch/operators';
 *
 * async function* letters() {
 *   yield* ['a', 'b', 'c', 'd'];
 * }
 * const gate = creditGate(letters(), { window: 2 });
 * gate.items.subscribe({
 *   next: (letter) => {
 *     console.log(letter, 'outstanding', gate.outstanding);
 *     setTimeout(() => gate.release(), 1); // the "sink" acknowledges a little later
 *   },
 *   complete: () => console.log('done, pulled', gate.pulled),
 * });
 * // Output:
 * // a outstanding 1
 * // b outstanding 2
 * // c outstanding 2
 * // d outstanding 2
 * // done, pulled 4
 * ```
 *
 * @param source - Any AsyncIterable (a source's items, an async generator).
 * @param options - `window` and `signal`; see {@link CREDIT_GATE_DEFAULTS}.
 * @returns The gate: `items`, `release()`, and the `outstanding`/`pulled` counters.
 * @throws `ERR_INVALID_OPTION` for a bad `window` or `signal`.
 * @category operators
 */
export function creditGate<T>(
  source: AsyncIterable<T>,
  options: Readonly<CreditGateOptions> = {},
): CreditGate<T> {
  const { window, signal, completeOnError } = { ...CREDIT_GATE_DEFAULTS, ...options };
  checkInteger('window', window, 1);
  checkSignal(signal);
  checkBoolean('completeOnError', completeOnError);
  checkOption(
    typeof (source as Partial<AsyncIterable<T>> | null)?.[Symbol.asyncIterator] === 'function',
    'source',
    'an AsyncIterable',
    source,
  );
  let pulled = 0;
  let released = 0;
  let sourceError: DifyBatchError | undefined;
  let subscribed = false;
  // The active subscription's pump, so release() can ask for more.
  let wake: (() => void) | undefined;

  const items = new Observable<T>((subscriber) => {
    if (subscribed) {
      subscriber.error(new DifyBatchError('ERR_INTERNAL', 'creditGate: items can be subscribed only once'));
      return;
    }
    subscribed = true;
    if (signal?.aborted) {
      subscriber.complete();
      return;
    }
    let iterator: AsyncIterator<T>;
    // Set once the iterator is finished for us: exhausted, failed, or closed by unsubscribe/abort.
    let finished = false;
    const fail = (error: unknown): void => {
      finished = true;
      if (!completeOnError) {
        subscriber.error(readError(error));
        return;
      }
      sourceError = readError(error);
      subscriber.complete();
    };
    try {
      iterator = source[Symbol.asyncIterator]();
    } catch (error) {
      fail(error);
      return;
    }
    let reading = false;
    const pump = (): void => {
      if (reading || finished || pulled - released >= window) return;
      reading = true;
      let step: Promise<IteratorResult<T>>;
      try {
        step = Promise.resolve(iterator.next());
      } catch (error) {
        reading = false;
        fail(error);
        return;
      }
      step.then(
        (result) => {
          reading = false;
          if (finished) return; // closed while this read was pending: the value is dropped
          if (result.done) {
            finished = true;
            subscriber.complete();
            return;
          }
          pulled++;
          subscriber.next(result.value);
          pump();
        },
        (error: unknown) => {
          reading = false;
          if (!finished) fail(error);
        },
      );
    };
    const close = (): void => {
      if (finished) return;
      finished = true;
      try {
        Promise.resolve(iterator.return?.()).catch(() => {});
      } catch {
        // A throwing return() must not break unsubscription.
      }
    };
    const onAbort = (): void => {
      close();
      subscriber.complete();
    };

    wake = pump;
    signal?.addEventListener('abort', onAbort, { once: true });
    pump();
    return () => {
      signal?.removeEventListener('abort', onAbort);
      wake = undefined;
      close();
    };
  });

  return {
    items,
    release(count = 1) {
      const outstanding = pulled - released;
      checkOption(
        Number.isInteger(count) && count >= 0 && count <= outstanding,
        'count',
        `an integer from 0 to ${outstanding} (the outstanding items)`,
        count,
      );
      released += count;
      wake?.();
    },
    get outstanding() {
      return pulled - released;
    },
    get pulled() {
      return pulled;
    },
    get error() {
      return sourceError;
    },
  };
}

function readError(error: unknown): DifyBatchError {
  if (error instanceof DifyBatchError && error.code === 'ERR_SOURCE_READ') return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DifyBatchError('ERR_SOURCE_READ', `Reading the source failed: ${message}`, { cause: error });
}
