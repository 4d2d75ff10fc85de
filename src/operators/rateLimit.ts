import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import { checkOption } from '../internal/checkOption.js';
import { subscribeUpstream } from '../internal/subscribeUpstream.js';
import { TokenBucket } from '../limits/TokenBucket.js';

/**
 * Delays each value until `bucket` grants it a token, so values leave no faster than the bucket's
 * rate. The bucket is shared: everything else taking from it (other streams, callDify attempts)
 * counts against the same limit.
 *
 * @remarks
 * - **Ordering:** values keep their order: they wait in the operator's own FIFO, and at most one of
 *   them at a time waits in the bucket's (FIFO) queue, so streams sharing a bucket take turns.
 * - **Cost:** one subscriber; a value that finds a token free passes synchronously (`tryTake()`).
 * - **Backpressure:** none of its own; waiting values are held in the operator. Put it behind a credit
 *   gate to bound how many wait.
 * - **Errors:** a source error is forwarded at once; values still waiting for a token are dropped.
 * - **Cancellation:** unsubscribing withdraws every waiting value from the bucket (no timer or
 *   listener is left behind).
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { TokenBucket } from 'dify-batch/limits';
 * import { rateLimit } from 'dify-batch/operators';
 *
 * const bucket = new TokenBucket({ perSecond: 200 }); // one value every 5 ms
 * from(['a', 'b', 'c'])
 *   .pipe(rateLimit(bucket))
 *   .subscribe((value) => console.log(value));
 * // Output:
 * // a
 * // b
 * // c
 * ```
 *
 * @param bucket - The shared limit; see {@link TokenBucket}.
 * @returns An operator that emits the same values, spaced by the bucket.
 * @throws `ERR_INVALID_OPTION` when `bucket` is not a TokenBucket.
 * @category operators
 */
export function rateLimit<T>(bucket: TokenBucket): MonoTypeOperatorFunction<T> {
  checkOption(bucket instanceof TokenBucket, 'bucket', 'a TokenBucket', bucket);
  return (source) =>
    new Observable<T>((subscriber) => {
      // One subscriber with a FIFO of waiting values and at most one pending take() in the bucket: a
      // value that finds a token free passes at once (no Promise, no inner Observable per value).
      const controller = new AbortController();
      let waiting: (T | undefined)[] = [];
      let head = 0;
      let taking = false;
      let pumping = false;
      let sourceDone = false;
      const emitHead = (): void => {
        const value = waiting[head] as T;
        waiting[head++] = undefined;
        if (head === waiting.length) {
          waiting = [];
          head = 0;
        }
        subscriber.next(value);
      };
      const pump = (): void => {
        if (pumping || taking) return;
        pumping = true;
        while (head < waiting.length && !subscriber.closed) {
          if (!bucket.tryTake()) {
            taking = true;
            bucket.take(controller.signal).then(
              () => {
                taking = false;
                emitHead();
                pump();
              },
              // Only our own teardown aborts the take, and by then nobody listens.
              () => {},
            );
            break;
          }
          emitHead();
        }
        pumping = false;
        if (sourceDone && !taking && head === waiting.length) subscriber.complete();
      };
      subscriber.add(() => {
        controller.abort();
        waiting = [];
      });
      subscribeUpstream(source, subscriber, {
        next: (value) => {
          if (!taking && head === waiting.length && bucket.tryTake()) subscriber.next(value);
          else {
            waiting.push(value);
            pump();
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });
    });
}
