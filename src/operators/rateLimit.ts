import { type MonoTypeOperatorFunction, mergeMap, Observable } from 'rxjs';
import { InvalidOptionError } from '../core/InvalidOptionError.js';
import { TokenBucket } from '../limits/TokenBucket.js';

/**
 * Delays each value until `bucket` grants it a token, so values leave no faster than the bucket's
 * rate. The bucket is shared: everything else taking from it (other streams, callDify attempts)
 * counts against the same limit.
 *
 * @remarks
 * - **Ordering:** values keep their order (the bucket is FIFO and each value queues on arrival).
 * - **Backpressure:** none of its own; each waiting value holds one queue slot in the bucket. Put it
 *   behind a creditGate to bound how many wait.
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
  if (!(bucket instanceof TokenBucket)) throw new InvalidOptionError('bucket', 'a TokenBucket', bucket);
  return mergeMap(
    (value: T) =>
      new Observable<T>((subscriber) => {
        const controller = new AbortController();
        bucket.take(controller.signal).then(
          () => {
            subscriber.next(value);
            subscriber.complete();
          },
          // Only our own teardown aborts the take, and by then nobody listens.
          () => {},
        );
        return () => controller.abort();
      }),
  );
}
