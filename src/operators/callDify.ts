import { setMaxListeners } from 'node:events';
import {
  asyncScheduler,
  from,
  Observable,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { DifyApiError } from '../core/DifyApiError.js';
import { DifyBatchError } from '../core/DifyBatchError.js';
import type { ErrorRecord, Item } from '../core/Item.js';
import type { ItemFailure, ItemResult, ItemSuccess } from '../core/ItemResult.js';
import { toErrorRecord } from '../core/toErrorRecord.js';
import { checkRun } from '../dify/checkRun.js';
import { classifyOutage } from '../dify/classifyOutage.js';
import { concurrencyLimitOf } from '../dify/concurrencyLimitOf.js';
import type { DifyCallOptions, DifyRequest, DifyResult } from '../dify/DifyRequest.js';
import { isRetryable } from '../dify/isRetryable.js';
import { linkAbort } from '../internal/abortable.js';
import {
  checkFunction,
  checkInteger,
  checkOption,
  checkScheduler,
  checkSignal,
} from '../internal/checkOption.js';
import type { Mutable } from '../internal/Mutable.js';
import { subscribeUpstream } from '../internal/subscribeUpstream.js';
import { AdaptiveConcurrency, type CallOutcome } from '../limits/AdaptiveConcurrency.js';
import { adaptiveOutcomeOf } from '../limits/adaptiveOutcomeOf.js';
import { type BreakerOutcome, type BreakerPass, CircuitBreaker } from '../limits/CircuitBreaker.js';
import { TokenBucket } from '../limits/TokenBucket.js';
import {
  type RetryEvent,
  type RetryOutcome,
  type RetryPolicy,
  resolveRetryOptions,
  retryResolved,
  type UncountedRetry,
} from './retryBackoff.js';

/**
 * Runs one Dify call. A {@link DifyTransport} (Promise) fits; so does a function returning any
 * ObservableInput, which is how marble tests drive callDify with `cold()`. Only the first value is
 * used; unsubscribing from it (or the signal) cancels the call.
 */
export type CallDifyTransport = (
  request: DifyRequest,
  options: DifyCallOptions,
) => ObservableInput<DifyResult>;

/** Passed to `onAttempt` when a call starts (after its rate-limit token). */
export interface CallDifyAttemptEvent<I> {
  readonly item: Item<I>;
  /** 1 for the first call of this item. */
  readonly attempt: number;
}

/** Passed to `onSettled` when a call that `onAttempt` announced is over, whatever the outcome. */
export interface CallDifySettledEvent<I> extends CallDifyAttemptEvent<I> {
  /** True when the call returned a result (a failed run counts as false). */
  readonly ok: boolean;
  /** The call's error (an abort reason when it was cancelled); undefined when `ok`. */
  readonly error?: unknown;
}

/** Passed to `onRetry` after a failed attempt that will be retried, before the wait. */
export interface CallDifyRetryEvent<I> extends RetryEvent {
  readonly item: Item<I>;
}

/** Options of {@link callDify}. */
export interface CallDifyOptions<I> {
  /**
   * Builds the request of an item. If it throws, the item becomes an `ok: false` result with
   * `ERR_INPUT_INVALID` (the message names the record and, if the error says, the field), and no
   * call is made.
   */
  readonly toRequest: (item: Item<I>) => DifyRequest;
  /**
   * Most calls in flight at once (a sliding window: a slow call holds one slot, not a batch).
   * An integer ≥ 1 or `Infinity`.
   * @defaultValue 8
   */
  readonly concurrency?: number;
  /**
   * Attempts and backoff; unset fields take {@link RETRY_BACKOFF_DEFAULTS}.
   * @defaultValue undefined (RETRY_BACKOFF_DEFAULTS apply)
   */
  readonly retry?: Readonly<RetryPolicy> | undefined;
  /**
   * Also retry runs that finished with `status: "failed"` (`ERR_DIFY_RUN_FAILED`), which are final
   * otherwise: the workflow ran, and running it again costs as much.
   * @defaultValue false
   */
  readonly retryFailedRuns?: boolean;
  /**
   * Shared limit: every attempt, retries included, takes one token before calling.
   * @defaultValue undefined (no rate limit)
   */
  readonly rateLimiter?: TokenBucket | undefined;
  /**
   * Shared AIMD limit: every attempt holds one of its slots, and rate-limit answers
   * (`ERR_DIFY_RATE_LIMITED`) shrink it while successes grow it back, up to `concurrency`.
   * @defaultValue undefined (a fixed `concurrency`)
   */
  readonly adaptive?: AdaptiveConcurrency | undefined;
  /**
   * Shared circuit breaker: outages (network failures, 5xx across the board) pause every call and
   * probe, and failures it waits out do not use up a record's attempts. When it gives up
   * (`ERR_DIFY_UNREACHABLE`) the output errors.
   * @defaultValue undefined (no breaker: every failure counts)
   */
  readonly breaker?: CircuitBreaker | undefined;
  /**
   * Aborts every in-flight call and errors the output with `signal.reason` (unchanged).
   * @defaultValue undefined
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Clock for latency and backoff waits (a TestScheduler makes them virtual).
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
  /**
   * Progress hook: a call starts. If it throws, the output errors with that error.
   * @defaultValue undefined
   */
  readonly onAttempt?: ((event: CallDifyAttemptEvent<I>) => void) | undefined;
  /**
   * Progress hook: a call is over (succeeded, failed or cancelled); called once per `onAttempt`, so
   * an in-flight counter kept with the two always balances. If it throws, the output errors.
   * @defaultValue undefined
   */
  readonly onSettled?: ((event: CallDifySettledEvent<I>) => void) | undefined;
  /**
   * Progress hook: an attempt failed and will be retried. If it throws, the output errors with that error.
   * @defaultValue undefined
   */
  readonly onRetry?: ((event: CallDifyRetryEvent<I>) => void) | undefined;
  /**
   * A result already paid for (a resumed run's journal): emitted for the item instead of calling.
   * @defaultValue undefined
   */
  readonly knownResult?: ((item: Item<I>) => ItemResult | undefined) | undefined;
  /**
   * A streaming workflow call of `item` has started as run `workflowRunId` (the `workflow_started`
   * event), so that a crash can recover the run by polling it instead of running it again.
   * @defaultValue undefined
   */
  readonly onWorkflowStarted?: ((item: Item<I>, workflowRunId: string) => void) | undefined;
}

/** Defaults of {@link CallDifyOptions}. */
export const CALL_DIFY_DEFAULTS = Object.freeze({
  concurrency: 8,
  retryFailedRuns: false,
  scheduler: asyncScheduler as SchedulerLike,
});

/**
 * Calls Dify once per item (retrying as configured) and emits exactly one {@link ItemResult} per
 * item, in completion order.
 *
 * @remarks
 * - **Concurrency:** a hard cap: one subscriber with a FIFO of waiting items; a new call starts as
 *   soon as any item finishes (synchronously, in the same turn), never in chunk-and-wait rounds. An
 *   item holds its slot from its first attempt to its result, backoff waits included.
 * - **Hot path:** no inner Observable and no Promise per item beyond the transport's own: the limits
 *   are taken synchronously when free (`breaker.passIfClosed()`, `adaptive.tryAcquire()`,
 *   `rateLimiter.tryTake()`) and only a failed first attempt enters the retry loop.
 * - **Ordering:** results come in completion order; pipe into `reorder()` to restore `seq` order.
 * - **Backpressure:** items beyond `concurrency` wait in the operator's queue, which is unbounded:
 *   put a credit gate upstream to bound it (see `processRecords`).
 * - **Per-item errors never error the stream:** items with `item.error` (parse errors from a source)
 *   pass through as `ok: false` with `attempts: 0`; a throwing `toRequest` gives `ERR_INPUT_INVALID`;
 *   a call that fails after retries gives `ok: false` with the error's code, status and Dify code.
 *   A run that finished with `status` `failed` or `stopped` is `ERR_DIFY_RUN_FAILED`.
 * - **Retries:** {@link retryBackoff}: retryable errors (`retryable === true`, e.g. 429, 5xx, network,
 *   timeouts, the app concurrency limit) with full-jitter backoff or the server's `Retry-After`.
 *   `attempts` counts the calls made; `latencyMs` runs from the first attempt's start (before its
 *   rate-limit token) to the outcome, backoff included.
 * - **Backpressure, not failure:** rate limits (`ERR_DIFY_RATE_LIMITED`: 429, Dify's concurrency
 *   limit) are retried with backoff without using up `maxAttempts`; only the record deadline
 *   (`retry.maxRetryTimeMs`) and abort bound them. With a `breaker`, failures it waits out do not count
 *   either. A record whose deadline passes fails with `ERR_DIFY_TIMEOUT` naming it.
 * - **Ambiguous retries:** a retry after a failure that struck once the request was sent (Dify may
 *   have run it: paid twice) is counted in the result's `ambiguousRetries`.
 * - **Fatal errors:** `signal` aborting (`signal.reason`), a hook throwing (that error), a source
 *   error (forwarded), and what no retry can fix: `ERR_DIFY_AUTH` (401/403), `ERR_DIFY_ROUTE` (a 404
 *   from a route that does not exist), `ERR_DIFY_UNREACHABLE` (the breaker gave up). Teardown aborts
 *   every call in flight, so no call starts after the first such answer.
 * - **Cancellation:** all attempts of a subscription share one AbortSignal, linked to `signal`;
 *   unsubscribing aborts every in-flight call and backoff wait, and settles each call in flight at
 *   once (limits released, `onSettled` with the abort reason) even if its transport ignores the signal.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import type { DifyTransport, Item } from 'dify-batch';
 * import { callDify, reorder } from 'dify-batch/operators';
 *
 * // Any (request, { signal }) => Promise<DifyResult> works: DifyClient, or this in-process stand-in.
 * const transport: DifyTransport = async (request) => ({
 *   outputs: { shout: String(request.inputs.text).toUpperCase() },
 * });
 * const items: Item[] = [
 *   { seq: 0, id: 'a', inputs: { text: 'hi' } },
 *   { seq: 1, id: 'b', inputs: {} },
 *   { seq: 2, id: 'c', inputs: { text: 'yo' } },
 * ];
 * from(items)
 *   .pipe(
 *     callDify(transport, {
 *       concurrency: 2,
 *       toRequest: (item) => {
 *         if (item.inputs.text === undefined) throw new Error('field "text" is missing');
 *         return { app: 'workflow', inputs: item.inputs, user: 'me', responseMode: 'blocking' };
 *       },
 *     }),
 *     reorder(),
 *   )
 *   .subscribe((r) => console.log(r.id, r.ok ? r.outputs : r.error.code, r.attempts));
 * // Output:
 * // a { shout: 'HI' } 1
 * // b ERR_INPUT_INVALID 0
 * // c { shout: 'YO' } 1
 * ```
 *
 * @param transport - Makes one call; see {@link CallDifyTransport}.
 * @param options - `toRequest` (required), concurrency, retry policy, rate limiter, signal, hooks;
 * see {@link CALL_DIFY_DEFAULTS}.
 * @returns An operator from items to one result each.
 * @throws `ERR_INVALID_OPTION` for a bad option.
 * @category operators
 */
export function callDify<I = Record<string, unknown>>(
  transport: CallDifyTransport,
  options: Readonly<CallDifyOptions<I>>,
): OperatorFunction<Item<I>, ItemResult> {
  const o = { ...CALL_DIFY_DEFAULTS, ...options };
  checkFunction('transport', transport);
  checkFunction('toRequest', o.toRequest);
  const concurrency = checkInteger('concurrency', o.concurrency, 1, true);
  checkScheduler(o.scheduler);
  const signal = checkSignal(o.signal);
  checkFunction('onAttempt', o.onAttempt, true);
  checkFunction('onRetry', o.onRetry, true);
  checkFunction('onSettled', o.onSettled, true);
  checkOption(
    o.rateLimiter === undefined || o.rateLimiter instanceof TokenBucket,
    'rateLimiter',
    'a TokenBucket or undefined',
    o.rateLimiter,
  );
  const shouldRetry = o.retryFailedRuns
    ? (error: unknown) => isRetryable(error) || (error as { code?: unknown }).code === 'ERR_DIFY_RUN_FAILED'
    : isRetryable;
  checkOption(
    o.breaker === undefined || o.breaker instanceof CircuitBreaker,
    'breaker',
    'a CircuitBreaker or undefined',
    o.breaker,
  );
  // Failed attempts the circuit breaker waited out: they do not use up the record's attempts, and the
  // breaker itself does the waiting. A WeakSet: nothing to clean up, whatever happens to the error.
  const waitedOut = new WeakSet<object>();
  const uncounted = (error: unknown): UncountedRetry => {
    if (isObject(error) && waitedOut.has(error)) return 'now';
    // Dify's concurrency limit and 429s are backpressure: retried until they go through.
    return (error as { code?: unknown } | null)?.code === 'ERR_DIFY_RATE_LIMITED' ? 'backoff' : false;
  };
  const policy = resolveRetryOptions({ ...o.retry, scheduler: o.scheduler, shouldRetry, uncounted });
  checkOption(
    o.adaptive === undefined || o.adaptive instanceof AdaptiveConcurrency,
    'adaptive',
    'an AdaptiveConcurrency or undefined',
    o.adaptive,
  );
  checkFunction('knownResult', o.knownResult, true);
  checkFunction('onWorkflowStarted', o.onWorkflowStarted, true);
  const { toRequest, scheduler, rateLimiter, adaptive, breaker, onAttempt, onRetry, onSettled } = o;
  const { knownResult, onWorkflowStarted } = o;

  return (source) =>
    new Observable<ItemResult>((subscriber) => {
      if (signal?.aborted) {
        subscriber.error(signal.reason);
        return;
      }
      // One AbortController per subscription, shared by every call: calls are only ever cancelled
      // together (teardown), so a per-call controller would buy nothing but an allocation per item.
      const run = new AbortController();
      const runSignal = run.signal;
      // Each in-flight attempt may listen on it (the transport, a limit's wait, a retry): expected, not a leak.
      setMaxListeners(Number.isFinite(concurrency) ? 3 * concurrency + 16 : 0, runSignal);
      const unlink = linkAbort(signal, run);
      const onAbort = (): void => subscriber.error(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      // Shared by every call without onWorkflowStarted: transports only read it.
      const plainOptions: DifyCallOptions = { signal: runSignal };

      // Items waiting for a slot: an array read from `head` (no shift(), which is O(n)), reset when drained.
      let waiting: (Item<I> | undefined)[] = [];
      let head = 0;
      // Items holding a slot: from their first attempt to their result, backoff waits included.
      let active = 0;
      let sourceDone = false;
      let draining = false;
      // Attempts sent and not yet answered: teardown cancels them (release, onSettled) at once, even
      // when a transport ignores its signal, so shared limits and in-flight counters always balance.
      // A list threaded through the calls themselves: joining and leaving it allocates nothing and
      // hashes nothing (a Set did both, twice per attempt).
      let liveHead: Call<I> | undefined;
      const addLive = (call: Call<I>): void => {
        call.live = true;
        call.prevLive = undefined;
        call.nextLive = liveHead;
        if (liveHead !== undefined) liveHead.prevLive = call;
        liveHead = call;
      };
      const removeLive = (call: Call<I>): void => {
        call.live = false;
        const { prevLive, nextLive } = call;
        if (prevLive === undefined) liveHead = nextLive;
        else prevLive.nextLive = nextLive;
        if (nextLive !== undefined) nextLive.prevLive = prevLive;
        call.prevLive = undefined;
        call.nextLive = undefined;
      };

      const fatal = (error: unknown): void => subscriber.error(error);

      const startItem = (item: Item<I>): void => {
        if (item.error !== undefined) {
          subscriber.next(failure(item, item.error, 0, 0));
          return;
        }
        const known = knownResult?.(item);
        if (known !== undefined) {
          subscriber.next(known);
          return;
        }
        let request: DifyRequest;
        try {
          // Built once per item, before any call: a bad record costs no request and is never retried.
          request = toRequest(item);
        } catch (error) {
          subscriber.next(failure(item, inputError(item, error), 0, 0));
          return;
        }
        active++;
        const call: Call<I> = {
          item,
          request,
          startedAt: scheduler.now(),
          attempt: 1,
          live: false,
          prevLive: undefined,
          nextLive: undefined,
          pass: undefined,
          generation: NO_SLOT,
          admittedUnder: 0,
          ambiguousRetries: 0,
          subscription: undefined,
          onDone: firstAttemptDone,
        };
        attempt(call);
      };

      // Starts waiting items while slots are free. Re-entrant calls (a synchronous answer, a result
      // emitted from inside this loop) return at once: the running loop picks up the freed slot.
      const startWaiting = (): void => {
        if (draining) return;
        draining = true;
        try {
          while (head < waiting.length && active < concurrency && !subscriber.closed) {
            const item = waiting[head]!;
            waiting[head++] = undefined;
            if (head === waiting.length) {
              waiting = [];
              head = 0;
            }
            startItem(item);
          }
        } finally {
          draining = false;
        }
      };

      // Fills the free slots, then completes once the source is done and nothing is left.
      const drain = (): void => {
        startWaiting();
        if (sourceDone && active === 0 && head === waiting.length) subscriber.complete();
      };

      // Limits, in this order: the breaker first (while Dify is down, waiting calls hold no adaptive
      // slot or token), then the adaptive slot, then a rate-limit token. Each has a synchronous path,
      // so an uncontended attempt awaits nothing but the transport.
      const attempt = (call: Call<I>): void => {
        if (breaker !== undefined) {
          const pass = breaker.passIfClosed();
          if (pass === undefined) {
            void acquireSlowly(call, 0);
            return;
          }
          call.pass = pass;
        }
        if (adaptive !== undefined) {
          const generation = adaptive.tryAcquire();
          if (generation === undefined) {
            void acquireSlowly(call, 1);
            return;
          }
          call.generation = generation;
          // The limit this call was admitted under (its own excess, if Dify then refuses it).
          call.admittedUnder = adaptive.limit;
        }
        if (rateLimiter !== undefined && !rateLimiter.tryTake()) {
          void acquireSlowly(call, 2);
          return;
        }
        send(call);
      };

      // The contended path: waits for the limits from `stage` on, then sends.
      const acquireSlowly = async (call: Call<I>, stage: 0 | 1 | 2): Promise<void> => {
        try {
          if (stage === 0) call.pass = await breaker!.acquire(runSignal);
          if (stage <= 1 && adaptive !== undefined) {
            call.generation = await adaptive.acquire(runSignal);
            call.admittedUnder = adaptive.limit;
          }
          if (rateLimiter !== undefined) await rateLimiter.take(runSignal);
        } catch (error) {
          // Aborted, or the breaker gave up (ERR_DIFY_UNREACHABLE): no call was made.
          releaseLimits(call, 'other', 'cancelled', undefined);
          call.onDone(call, false, error);
          return;
        }
        if (subscriber.closed) {
          releaseLimits(call, 'other', 'cancelled', undefined);
          return;
        }
        send(call);
      };

      const send = (call: Call<I>): void => {
        const { item, request } = call;
        try {
          onAttempt?.({ item, attempt: call.attempt });
        } catch (error) {
          // A throwing hook is a bug in the caller, not an item failure: it errors the output, and the
          // teardown that follows cancels everything, so nothing is retried.
          releaseLimits(call, 'other', 'cancelled', undefined);
          fatal(error);
          return;
        }
        addLive(call);
        let answer: ObservableInput<DifyResult>;
        try {
          answer = transport(
            request,
            onWorkflowStarted === undefined
              ? plainOptions
              : { signal: runSignal, onWorkflowStarted: (id: string) => onWorkflowStarted(item, id) },
          );
        } catch (error) {
          answered(call, false, error);
          return;
        }
        if (typeof (answer as PromiseLike<DifyResult>).then === 'function') {
          // Every real transport: its own Promise is the only one on the way.
          (answer as PromiseLike<DifyResult>).then(
            (result) => answered(call, true, result),
            (error: unknown) => answered(call, false, error),
          );
          return;
        }
        // Any other ObservableInput (marble tests use cold()): its first value; unsubscribing cancels it.
        let settled = false;
        const subscription = from(answer).subscribe({
          next: (result) => {
            if (settled) return;
            settled = true;
            call.subscription?.unsubscribe();
            answered(call, true, result);
          },
          error: (error: unknown) => {
            settled = true;
            answered(call, false, error);
          },
          complete: () => {
            if (settled) return;
            settled = true;
            answered(call, false, noResult());
          },
        });
        if (settled) subscription.unsubscribe();
        else if (call.live) call.subscription = subscription;
      };

      // The answer of a live attempt (later answers of a cancelled one are dropped).
      const answered = (call: Call<I>, ok: boolean, value: unknown): void => {
        if (!call.live) return;
        removeLive(call);
        call.subscription = undefined;
        if (ok) {
          const result = value as DifyResult;
          const failedRun = checkRun(result);
          if (failedRun === undefined) {
            releaseLimits(call, 'ok', 'up', undefined);
            if (!settledHook(call, true, undefined)) return;
            call.onDone(call, true, result);
            return;
          }
          value = failedRun;
        }
        const error = value;
        const outcome = adaptiveOutcomeOf(error, call.request);
        const reach: BreakerOutcome = runSignal.aborted ? 'cancelled' : (classifyOutage(error) ?? 'up');
        const serverLimit = outcome === 'rate-limited' ? statedLimit(error) : undefined;
        const { admittedUnder } = call;
        // Before the retry decision, so it knows the failure was the outage's.
        if (releaseLimits(call, outcome, reach, serverLimit) && isObject(error)) waitedOut.add(error);
        if (!settledHook(call, false, error)) return;
        // Refused only because we ran above the limit Dify states: the adaptive gate now holds the
        // retry until one of those slots frees, so a backoff on top would only idle it.
        call.onDone(
          call,
          false,
          serverLimit !== undefined && admittedUnder > serverLimit ? retryAtOnce(error) : error,
        );
      };

      /** Gives back what the attempt holds; true when the breaker waited this failure out. */
      const releaseLimits = (
        call: Call<I>,
        outcome: CallOutcome,
        reach: BreakerOutcome,
        serverLimit: number | undefined,
      ): boolean => {
        if (call.generation !== NO_SLOT) {
          adaptive!.release(outcome, call.generation, serverLimit);
          call.generation = NO_SLOT;
        }
        if (call.pass === undefined) return false;
        const pass = call.pass;
        call.pass = undefined;
        return breaker!.release(reach, pass, call.item.seq);
      };

      const settledHook = (call: Call<I>, ok: boolean, error: unknown): boolean => {
        if (onSettled === undefined) return true;
        try {
          onSettled(
            ok
              ? { item: call.item, attempt: call.attempt, ok }
              : { item: call.item, attempt: call.attempt, ok, error },
          );
          return true;
        } catch (hookError) {
          fatal(hookError);
          return false;
        }
      };

      // The first attempt's outcome: a success is the result at once; only a failure worth another
      // attempt enters the retry loop (p-retry, in retryResolved), which makes the later attempts.
      const firstAttemptDone = (call: Call<I>, ok: boolean, value: unknown): void => {
        if (ok) {
          finish(success(call, value as DifyResult, 1, scheduler.now() - call.startedAt));
          return;
        }
        if (subscriber.closed) return;
        if (!policy.shouldRetry(value)) {
          finishFailed(call, { ok: false, error: value, attempts: 1 });
          return;
        }
        retryResolved(
          ({ attempt: n }) =>
            new Promise<DifyResult>((resolve, reject) => {
              call.attempt = n;
              call.onDone = (_call, attemptOk, attemptValue) => {
                if (attemptOk) resolve(attemptValue as DifyResult);
                else reject(attemptValue);
              };
              attempt(call);
            }),
          policy,
          runSignal,
          (event) => {
            if ((event.error as { ambiguous?: unknown } | null)?.ambiguous === true) call.ambiguousRetries++;
            onRetry?.({ ...event, item: call.item });
          },
          { error: value, startedAt: call.startedAt },
        ).then((outcome) => {
          if (outcome.ok) {
            finish(success(call, outcome.value, outcome.attempts, scheduler.now() - call.startedAt));
          } else finishFailed(call, outcome);
        }, fatal);
      };

      const finishFailed = (call: Call<I>, outcome: RetryOutcome<DifyResult> & { ok: false }): void => {
        if (FATAL_CODES.has((outcome.error as { code?: unknown } | null)?.code)) {
          active--;
          fatal(outcome.error);
          return;
        }
        const { item } = call;
        const error = outcome.deadlineExceeded
          ? deadlineError(item, outcome.error, outcome.attempts, policy.maxRetryTimeMs)
          : toErrorRecord(outcome.error);
        const result = failure(item, error, outcome.attempts, scheduler.now() - call.startedAt);
        finish(call.ambiguousRetries > 0 ? { ...result, ambiguousRetries: call.ambiguousRetries } : result);
      };

      const finish = (result: ItemResult): void => {
        active--;
        if (subscriber.closed) return;
        // The freed slot's next call first: its request is on the wire before this result goes through
        // reorder, batch and the sink, which shortens every slot's cycle when many answers land at once.
        startWaiting();
        subscriber.next(result);
        drain();
      };

      subscriber.add(() => {
        signal?.removeEventListener('abort', onAbort);
        unlink();
        // The caller's reason when its signal is why we are torn down, so the transport sees it.
        const reason = signal?.aborted
          ? signal.reason
          : new DifyBatchError('ERR_ABORTED', 'callDify: unsubscribed');
        run.abort(reason);
        for (let call = liveHead; call !== undefined; call = call.nextLive) {
          call.live = false;
          call.subscription?.unsubscribe();
          call.subscription = undefined;
          releaseLimits(call, 'other', 'cancelled', undefined);
          try {
            onSettled?.({ item: call.item, attempt: call.attempt, ok: false, error: reason });
          } catch {
            // The output is already closed: there is nobody left to report a hook's error to.
          }
        }
        liveHead = undefined;
        waiting = [];
        head = 0;
      });

      subscribeUpstream(source, subscriber, {
        next: (item) => {
          if (head === waiting.length && active < concurrency && !draining) startItem(item);
          else {
            waiting.push(item);
            drain();
          }
        },
        error: fatal,
        complete: () => {
          sourceDone = true;
          drain();
        },
      });
    });
}

/** No adaptive slot held. */
const NO_SLOT = -1;

/** One item from its first attempt to its result: what its current attempt holds. */
interface Call<I> {
  readonly item: Item<I>;
  readonly request: DifyRequest;
  /** Before the first attempt's limits: `latencyMs` and the record deadline run from here. */
  readonly startedAt: number;
  /** 1 for the first call of this item. */
  attempt: number;
  /** The current attempt was sent and its answer is still wanted (it is in the live list). */
  live: boolean;
  /** Neighbours in the live list. */
  prevLive: Call<I> | undefined;
  nextLive: Call<I> | undefined;
  pass: BreakerPass | undefined;
  /** The adaptive generation of the slot held, or NO_SLOT. */
  generation: number;
  admittedUnder: number;
  ambiguousRetries: number;
  /** An Observable transport's call, to cancel on teardown. */
  subscription: Subscription | undefined;
  /** Where the current attempt's outcome goes: the first attempt's handler, or a retry's Promise. */
  onDone: (call: Call<I>, ok: boolean, value: unknown) => void;
}

/** Errors that end the whole run: every other record would hit them too. */
const FATAL_CODES: ReadonlySet<unknown> = new Set([
  'ERR_DIFY_AUTH',
  'ERR_DIFY_ROUTE',
  'ERR_DIFY_UNREACHABLE',
]);

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** The same refusal, retried without a backoff (`retryAfterMs: 0`). */
function retryAtOnce(error: unknown): unknown {
  return error instanceof DifyApiError ? error.with({ retryAfterMs: 0 }) : error;
}

function statedLimit(error: unknown): number | undefined {
  return error instanceof DifyApiError ? concurrencyLimitOf(error) : undefined;
}

function noResult(): DifyApiError {
  return new DifyApiError({
    code: 'ERR_DIFY_BAD_RESPONSE',
    message: 'the transport completed without a result',
    retryable: false,
  });
}

function inputError(item: Item<unknown>, error: unknown): ErrorRecord {
  if (error instanceof DifyBatchError && error.code === 'ERR_INPUT_INVALID') return toErrorRecord(error);
  const { message } = toErrorRecord(error);
  const field = (error as { field?: unknown } | null)?.field;
  const line = item.position?.line === undefined ? '' : `, line ${item.position.line}`;
  const where = typeof field === 'string' ? ` field "${field}":` : '';
  return {
    code: 'ERR_INPUT_INVALID',
    message: `record ${item.id} (seq ${item.seq}${line}):${where} ${message}`,
    retryable: false,
  };
}

function failure(item: Item<unknown>, error: ErrorRecord, attempts: number, latencyMs: number): ItemFailure {
  return { seq: item.seq, id: item.id, ok: false, error, attempts, latencyMs };
}

/** A success result; optional fields are set only when present, in the order JSON output shows them. */
function success(
  call: { readonly item: Item<unknown>; readonly ambiguousRetries: number },
  value: DifyResult,
  attempts: number,
  latencyMs: number,
): ItemSuccess {
  const { item, ambiguousRetries } = call;
  const result: Mutable<ItemSuccess> = {
    seq: item.seq,
    id: item.id,
    ok: true,
    outputs: value.outputs,
    attempts,
    latencyMs,
  };
  if (ambiguousRetries > 0) result.ambiguousRetries = ambiguousRetries;
  if (value.workflowRunId !== undefined) result.workflowRunId = value.workflowRunId;
  if (value.taskId !== undefined) result.taskId = value.taskId;
  if (value.messageId !== undefined) result.messageId = value.messageId;
  if (value.conversationId !== undefined) result.conversationId = value.conversationId;
  return result;
}

/** The record deadline ran out: the failure names it, and the last error says why it was not met. */
function deadlineError(
  item: Item<unknown>,
  last: unknown,
  attempts: number,
  deadlineMs: number,
): ErrorRecord {
  const cause = toErrorRecord(last);
  return {
    code: 'ERR_DIFY_TIMEOUT',
    message:
      `record ${item.id} (seq ${item.seq}): no result within the record deadline of ${deadlineMs} ms ` +
      `(retry.maxRetryTimeMs, CLI --record-timeout-ms) after ${attempts} attempt(s); last error: ${cause.code}: ${cause.message}`,
    ...(cause.status === undefined ? {} : { status: cause.status }),
    retryable: true,
  };
}
