import { setMaxListeners } from 'node:events';
import {
  asyncScheduler,
  from,
  mergeMap,
  Observable,
  type ObservableInput,
  type OperatorFunction,
  of,
  type SchedulerLike,
  take,
} from 'rxjs';
import { DifyApiError } from '../core/DifyApiError.js';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { InvalidOptionError } from '../core/InvalidOptionError.js';
import type { ErrorRecord, Item } from '../core/Item.js';
import type { ItemFailure, ItemResult, ItemSuccess } from '../core/ItemResult.js';
import { toErrorRecord } from '../core/toErrorRecord.js';
import { classifyOutage } from '../dify/classifyOutage.js';
import { concurrencyLimitOf } from '../dify/concurrencyLimitOf.js';
import type { DifyCallOptions, DifyRequest, DifyResult } from '../dify/DifyRequest.js';
import { isFailedRunStatus } from '../dify/isFailedRunStatus.js';
import { linkAbort } from '../internal/abortable.js';
import { checkFunction, checkInteger, checkScheduler, checkSignal } from '../internal/checkOption.js';
import { AdaptiveConcurrency, type CallOutcome } from '../limits/AdaptiveConcurrency.js';
import { adaptiveOutcomeOf } from '../limits/adaptiveOutcomeOf.js';
import { type BreakerOutcome, CircuitBreaker } from '../limits/CircuitBreaker.js';
import { TokenBucket } from '../limits/TokenBucket.js';
import {
  isRetryable,
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
 * - **Concurrency:** a hard cap (`mergeMap` with `concurrency`): a new call starts as soon as any
 *   call finishes, never in chunk-and-wait rounds.
 * - **Ordering:** results come in completion order; pipe into `reorder()` to restore `seq` order.
 * - **Backpressure:** items beyond `concurrency` wait in mergeMap's queue, which is unbounded: put
 *   a creditGate upstream to bound it.
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
 * - **Cancellation:** each attempt gets its own AbortController linked to `signal`; unsubscribing
 *   aborts every in-flight call and backoff wait.
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
  checkInteger('concurrency', o.concurrency, 1, true);
  checkScheduler(o.scheduler);
  const signal = checkSignal(o.signal);
  checkFunction('onAttempt', o.onAttempt, true);
  checkFunction('onRetry', o.onRetry, true);
  checkFunction('onSettled', o.onSettled, true);
  if (o.rateLimiter !== undefined && !(o.rateLimiter instanceof TokenBucket)) {
    throw new InvalidOptionError('rateLimiter', 'a TokenBucket or undefined', o.rateLimiter);
  }
  const shouldRetry = o.retryFailedRuns
    ? (error: unknown) => isRetryable(error) || (error as { code?: unknown }).code === 'ERR_DIFY_RUN_FAILED'
    : isRetryable;
  if (o.breaker !== undefined && !(o.breaker instanceof CircuitBreaker)) {
    throw new InvalidOptionError('breaker', 'a CircuitBreaker or undefined', o.breaker);
  }
  // Failed attempts the circuit breaker waited out: they do not use up the record's attempts, and the
  // breaker itself does the waiting. A WeakSet: nothing to clean up, whatever happens to the error.
  const waitedOut = new WeakSet<object>();
  const uncounted = (error: unknown): UncountedRetry => {
    if (isObject(error) && waitedOut.has(error)) return 'now';
    // Dify's concurrency limit and 429s are backpressure: retried until they go through.
    return (error as { code?: unknown } | null)?.code === 'ERR_DIFY_RATE_LIMITED' ? 'backoff' : false;
  };
  const policy = resolveRetryOptions({ ...o.retry, scheduler: o.scheduler, shouldRetry, uncounted });
  if (o.adaptive !== undefined && !(o.adaptive instanceof AdaptiveConcurrency)) {
    throw new InvalidOptionError('adaptive', 'an AdaptiveConcurrency or undefined', o.adaptive);
  }
  checkFunction('knownResult', o.knownResult, true);
  checkFunction('onWorkflowStarted', o.onWorkflowStarted, true);
  const { toRequest, scheduler, rateLimiter, adaptive, breaker, onAttempt, onRetry, onSettled } = o;
  const { knownResult, onWorkflowStarted } = o;

  // `runSignal` belongs to one subscription of the operator and is shared by all its items: inner
  // subscriptions of mergeMap are only ever torn down together (outer unsubscribe or error), so a
  // per-item AbortController (the costliest allocation per item) would buy nothing.
  const callItem = (item: Item<I>, request: DifyRequest, runSignal: AbortSignal): Observable<ItemResult> =>
    new Observable<ItemResult>((subscriber) => {
      const startedAt = scheduler.now();
      const fatal = (error: unknown): void => subscriber.error(error);
      // A throwing hook is a bug in the caller, not an item failure: it errors the output, and the
      // teardown that follows aborts this item so nothing is retried.
      const hook = <E>(fn: ((event: E) => void) | undefined, event: E): void => {
        try {
          fn?.(event);
        } catch (error) {
          fatal(error);
          throw error;
        }
      };
      let ambiguousRetries = 0;
      retryResolved(
        async ({ attempt, signal: attemptSignal }) => {
          // The breaker first: while Dify is down, waiting calls hold no adaptive slot or token.
          const pass =
            breaker === undefined
              ? undefined
              : (breaker.passIfClosed() ?? (await breaker.acquire(attemptSignal)));
          let reach: BreakerOutcome = 'cancelled';
          let failure: unknown;
          try {
            const generation = adaptive === undefined ? 0 : await adaptive.acquire(attemptSignal);
            // The adaptive limit this call was admitted under (its own excess, if Dify then refuses it).
            const admittedUnder = adaptive?.limit ?? 0;
            let outcome: CallOutcome = 'other';
            let serverLimit: number | undefined;
            try {
              if (rateLimiter !== undefined) await rateLimiter.take(attemptSignal);
              hook(onAttempt, { item, attempt });
              let result: DifyResult;
              try {
                result = checkRun(
                  await firstValue(
                    transport(
                      request,
                      onWorkflowStarted === undefined
                        ? { signal: attemptSignal }
                        : {
                            signal: attemptSignal,
                            onWorkflowStarted: (id: string) => onWorkflowStarted(item, id),
                          },
                    ),
                    attemptSignal,
                  ),
                );
              } catch (error) {
                failure = error;
                outcome = adaptiveOutcomeOf(error, request);
                if (!attemptSignal.aborted) reach = classifyOutage(error) ?? 'up';
                if (outcome === 'rate-limited') serverLimit = statedLimit(error);
                hook(onSettled, { item, attempt, ok: false, error });
                // Refused only because we ran above the limit Dify states: the adaptive gate now holds
                // the retry until one of those slots frees, so a backoff on top would only idle it.
                if (serverLimit !== undefined && admittedUnder > serverLimit) throw retryAtOnce(error);
                throw error;
              }
              outcome = 'ok';
              reach = 'up';
              hook(onSettled, { item, attempt, ok: true });
              return result;
            } finally {
              adaptive?.release(outcome, generation, serverLimit);
            }
          } finally {
            // Runs before the retry predicate sees the error, so it knows the failure was the outage's.
            if (pass !== undefined && breaker!.release(reach, pass, item.seq) && isObject(failure)) {
              waitedOut.add(failure);
            }
          }
        },
        policy,
        runSignal,
        (event) => {
          if ((event.error as { ambiguous?: unknown } | null)?.ambiguous === true) ambiguousRetries++;
          onRetry?.({ ...event, item });
        },
      ).then((outcome) => {
        if (!outcome.ok && FATAL_CODES.has((outcome.error as { code?: unknown } | null)?.code)) {
          fatal(outcome.error);
          return;
        }
        subscriber.next(
          toResult(item, outcome, scheduler.now() - startedAt, ambiguousRetries, policy.maxRetryTimeMs),
        );
        subscriber.complete();
      }, fatal);
    });

  const project = (item: Item<I>, runSignal: AbortSignal): Observable<ItemResult> => {
    if (item.error !== undefined) return of(failure(item, item.error, 0, 0));
    const known = knownResult?.(item);
    if (known !== undefined) return of(known);
    let request: DifyRequest;
    try {
      // Built once per item, before any call: a bad record costs no request and is never retried.
      request = toRequest(item);
    } catch (error) {
      return of(failure(item, inputError(item, error), 0, 0));
    }
    return callItem(item, request, runSignal);
  };

  return (source) =>
    new Observable<ItemResult>((subscriber) => {
      if (signal?.aborted) {
        subscriber.error(signal.reason);
        return;
      }
      const run = new AbortController();
      // Each in-flight attempt listens on it (raceAbort, the transport, a rate-limit wait): expected, not a leak.
      setMaxListeners(Number.isFinite(o.concurrency) ? 3 * o.concurrency + 16 : 0, run.signal);
      const unlink = linkAbort(signal, run);
      const onAbort = (): void => subscriber.error(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      subscriber.add(() => {
        signal?.removeEventListener('abort', onAbort);
        unlink();
        // The caller's reason when its signal is why we are torn down, so the transport sees it.
        run.abort(
          signal?.aborted ? signal.reason : new DifyBatchError('ERR_ABORTED', 'callDify: unsubscribed'),
        );
      });
      source
        .pipe(mergeMap((item: Item<I>) => project(item, run.signal), o.concurrency))
        .subscribe(subscriber);
    });
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

/** First value of the transport's answer; unsubscribes (cancelling a cold call) on abort. */
function firstValue<T>(input: ObservableInput<T>, signal: AbortSignal): Promise<T> {
  // A Promise (every real transport) needs no subscription machinery; retryBackoff already races
  // each attempt against the signal.
  if (typeof (input as PromiseLike<T>).then === 'function') return Promise.resolve(input as PromiseLike<T>);
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const onAbort = (): void => {
      subscription.unsubscribe();
      reject(signal.reason);
    };
    const finish = (): void => {
      done = true;
      signal.removeEventListener('abort', onAbort);
    };
    const subscription = from(input)
      .pipe(take(1))
      .subscribe({
        next: (value) => {
          finish();
          resolve(value);
        },
        error: (error: unknown) => {
          finish();
          reject(error);
        },
        complete: () => {
          if (done) return;
          finish();
          reject(
            new DifyApiError({
              code: 'ERR_DIFY_BAD_RESPONSE',
              message: 'the transport completed without a result',
              retryable: false,
            }),
          );
        },
      });
    if (!done) signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A run that ended without its outputs (isFailedRunStatus) is a failure, whatever transport reported it. */
function checkRun(result: DifyResult): DifyResult {
  if (!isFailedRunStatus(result.status)) return result;
  const run =
    result.workflowRunId === undefined ? 'the workflow run' : `workflow run ${result.workflowRunId}`;
  throw new DifyApiError({
    code: 'ERR_DIFY_RUN_FAILED',
    message: `${run} finished with status "${result.status}"`,
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

function toResult(
  item: Item<unknown>,
  outcome: RetryOutcome<DifyResult>,
  latencyMs: number,
  ambiguousRetries: number,
  deadlineMs: number,
): ItemResult {
  const ambiguous = ambiguousRetries > 0 ? { ambiguousRetries } : {};
  if (!outcome.ok) {
    const error = outcome.deadlineExceeded
      ? deadlineError(item, outcome.error, outcome.attempts, deadlineMs)
      : toErrorRecord(outcome.error);
    return { ...failure(item, error, outcome.attempts, latencyMs), ...ambiguous };
  }
  const { outputs, workflowRunId, taskId, messageId, conversationId } = outcome.value;
  const success: ItemSuccess = {
    seq: item.seq,
    id: item.id,
    ok: true,
    outputs,
    attempts: outcome.attempts,
    latencyMs,
    ...ambiguous,
    ...(workflowRunId === undefined ? {} : { workflowRunId }),
    ...(taskId === undefined ? {} : { taskId }),
    ...(messageId === undefined ? {} : { messageId }),
    ...(conversationId === undefined ? {} : { conversationId }),
  };
  return success;
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
