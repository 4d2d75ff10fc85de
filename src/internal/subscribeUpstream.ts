import { type Observable, type Observer, Subscriber } from 'rxjs';

/**
 * Subscribes an operator's own handlers to its source, chained to the operator's output: what RxJS 7
 * does inside `operate()`/`createOperatorSubscriber`, which it does not export. Used by callDify,
 * reorder and batch, each one subscriber with explicit state (no inner Observable per value).
 *
 * The upstream Subscriber is added to `downstream` *before* subscribing, so a downstream `take` that
 * closes the output while a synchronous source is still emitting stops that source mid-loop.
 * The handlers are called as they are (no try/catch): they must not throw.
 */
export function subscribeUpstream<T>(
  source: Observable<T>,
  downstream: Subscriber<unknown>,
  handlers: Observer<T>,
): void {
  // Subscriber's constructor is marked internal in RxJS 7 docs, but it is the only way to get a
  // chained subscriber without an extra operator per value; RxJS 8's `operate` replaces it.
  const upstream = new Subscriber<T>(handlers);
  downstream.add(upstream);
  source.subscribe(upstream);
}
