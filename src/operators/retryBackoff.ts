import pRetry from 'p-retry';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { isRetryable } from '../dify/isRetryable.js';
import { delay } from '../internal/abortable.js';
import {
  checkFunction,
  checkInteger,
  checkNumber,
  checkScheduler,
  checkSignal,
} from '../internal/checkOption.js';
import { raceAbort } from '../internal/raceAbort.js';

/** What each attempt receives. */
export interface RetryAttemptContext {
  /** 1 for the first call, 2 for the first retry, … */
  readonly attempt: number;
  /** Aborted when the whole retry is aborted; pass it to the call so it stops at once. */
  readonly signal: AbortSignal;
}

/** What `onRetry` receives, before the wait that precedes the next attempt. */
export interface RetryEvent {
  /** The attempt that just failed (the next one is `attempt + 1`). */
  readonly attempt: number;
  readonly error: unknown;
  /** How long we wait before the next attempt. */
  readonly delayMs: number;
}

/** The retry policy: how many attempts, and how long to wait between them. */
export interface RetryPolicy {
  /**
   * Attempts in total, the first one included (`1` = never retry). An integer ≥ 1 or `Infinity`.
   * @defaultValue 4
   */
  readonly maxAttempts?: number;
  /**
   * Backoff scale: retry `n` waits `random() · min(maxDelayMs, baseDelayMs · 2^(n−1))` (full jitter).
   * @defaultValue 500
   */
  readonly baseDelayMs?: number;
  /**
   * Cap of the exponential part of the backoff.
   * @defaultValue 30000
   */
  readonly maxDelayMs?: number;
  /**
   * The deadline of the whole retry, attempts and backoff included (runBatch: the per-record deadline,
   * CLI `--record-timeout-ms`): no retry starts whose wait would end later than this after the first
   * attempt started; the outcome is then `{ ok: false, deadlineExceeded: true }` with the last error.
   * It also bounds failures that do not use up `maxAttempts` (see `uncounted`).
   * @defaultValue 900000
   */
  readonly maxRetryTimeMs?: number;
  /**
   * Cap on a server's `Retry-After` (an error's `retryAfterMs`): we never wait longer than this.
   * @defaultValue 60000
   */
  readonly maxRetryAfterMs?: number;
  /**
   * Source of jitter, a number in [0, 1). Inject a fixed one in tests.
   * @defaultValue Math.random
   */
  readonly random?: () => number;
}

/** Options of {@link retryBackoff}: the policy plus cancellation, clock and hooks. */
export interface RetryBackoffOptions extends RetryPolicy {
  /**
   * Aborts the current attempt and any backoff wait; the promise then rejects with `signal.reason`.
   * @defaultValue undefined
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Clock and timer of the backoff waits and of `maxRetryTimeMs` (a TestScheduler makes them virtual).
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
  /**
   * Which errors are worth another attempt.
   * @defaultValue isRetryable (`error.retryable === true`, as on every DifyApiError)
   */
  readonly shouldRetry?: (error: unknown) => boolean;
  /**
   * Called before each backoff wait. If it throws, the retry stops and the promise rejects with that error.
   * @defaultValue undefined
   */
  readonly onRetry?: ((event: RetryEvent) => void) | undefined;
  /**
   * Failures that do not use up `maxAttempts` (a rate limit, an outage a circuit breaker waits out):
   * `false` counts the failure; `'backoff'` retries it after the usual backoff without counting it;
   * `'now'` retries it at once without counting it (something else, such as a circuit breaker, does the
   * waiting). Only errors `shouldRetry` accepts are asked. `maxRetryTimeMs` and abort still bound them.
   * @defaultValue undefined (every failure counts)
   */
  readonly uncounted?: ((error: unknown) => UncountedRetry) | undefined;
}

/** See {@link RetryBackoffOptions.uncounted}. */
export type UncountedRetry = false | 'backoff' | 'now';

/** The settled result of {@link retryBackoff}: the value, or the last error once retrying stopped. */
export type RetryOutcome<T> =
  | { readonly ok: true; readonly value: T; readonly attempts: number }
  | {
      readonly ok: false;
      readonly error: unknown;
      readonly attempts: number;
      /** Retrying stopped because `maxRetryTimeMs` ran out, not because of the error or `maxAttempts`. */
      readonly deadlineExceeded?: true;
    };

/** Defaults of {@link RetryBackoffOptions}. */
export const RETRY_BACKOFF_DEFAULTS: Readonly<
  Required<RetryPolicy> & Required<Pick<RetryBackoffOptions, 'scheduler' | 'shouldRetry'>>
> = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryTimeMs: 900_000,
  maxRetryAfterMs: 60_000,
  random: Math.random as () => number,
  scheduler: asyncScheduler as SchedulerLike,
  shouldRetry: isRetryable as (error: unknown) => boolean,
});

export type ResolvedRetryOptions = typeof RETRY_BACKOFF_DEFAULTS &
  Pick<RetryBackoffOptions, 'signal' | 'onRetry' | 'uncounted'>;

/**
 * Merges `options` over {@link RETRY_BACKOFF_DEFAULTS} and validates them. callDify calls it once
 * when the operator is built, so a bad policy fails then and not on the first item.
 * @internal
 */
export function resolveRetryOptions(options: Readonly<RetryBackoffOptions> = {}): ResolvedRetryOptions {
  const o = { ...RETRY_BACKOFF_DEFAULTS, ...options };
  checkInteger('maxAttempts', o.maxAttempts, 1, true);
  checkNumber('baseDelayMs', o.baseDelayMs, 0);
  checkNumber('maxDelayMs', o.maxDelayMs, 0, { allowInfinity: true });
  checkNumber('maxRetryTimeMs', o.maxRetryTimeMs, 0, { allowInfinity: true });
  checkNumber('maxRetryAfterMs', o.maxRetryAfterMs, 0, { allowInfinity: true });
  checkFunction('random', o.random);
  checkFunction('shouldRetry', o.shouldRetry);
  checkFunction('onRetry', o.onRetry, true);
  checkFunction('uncounted', o.uncounted, true);
  checkScheduler(o.scheduler);
  checkSignal(o.signal);
  return o;
}

// Carries an attempt's error through p-retry untouched: p-retry turns non-Errors into TypeErrors and
// never retries TypeErrors, and we want the predicate alone to decide, and the original error back.
class AttemptFailed extends Error {
  constructor(readonly original: unknown) {
    super('attempt failed');
  }
}

/**
 * Runs `attempt` until it succeeds, the error is not retryable, `maxAttempts` (counted failures only,
 * see `uncounted`) or `maxRetryTimeMs` run out, or `signal` aborts. Waits between attempts use exponential backoff with full jitter,
 * or the server's `Retry-After` when the error carries one.
 *
 * @remarks
 * - **Delays:** before retry `n` (n = 1 after the first failure) we wait
 *   `random() · min(maxDelayMs, baseDelayMs · 2^(n−1))`; when the error has a finite
 *   `retryAfterMs ≥ 0` (DifyApiError from a `Retry-After` header) we wait
 *   `min(retryAfterMs, maxRetryAfterMs)` instead. A retry whose wait would end later than
 *   `maxRetryTimeMs` after the first attempt started is not made.
 * - **Errors:** only errors for which `shouldRetry` is true (default: `retryable === true`) are
 *   retried. A final failure *resolves* as `{ ok: false, error, attempts }` with the error exactly as
 *   thrown; the promise rejects only on abort (with `signal.reason`, unchanged) or when a hook throws.
 * - **Cancellation:** every attempt receives `signal` (or a never-aborted one). An abort rejects at
 *   once, even if the attempt ignores its signal, cancels a pending backoff timer, and leaves no
 *   listener on `signal`.
 * - Built on p-retry 7 (attempt loop and budget) from the first failure on; the first attempt runs
 *   directly, as most succeed. p-retry's own delay is zeroed and ours is awaited in its
 *   `shouldRetry` hook, on `scheduler`'s clock, so tests can make it virtual.
 *
 * @example
 * ```ts
 * import { DifyApiError } from 'dify-batch';
 * import { retryBackoff } from 'dify-batch/operators';
 *
 * const outcome = await retryBackoff(
 *   async ({ attempt }) => {
 *     if (attempt < 3) {
 *       throw new DifyApiError({ code: 'ERR_DIFY_HTTP', message: 'HTTP 503', status: 503, retryable: true });
 *     }
 *     return 'done';
 *   },
 *   { maxAttempts: 5, baseDelayMs: 10, onRetry: ({ attempt }) => console.log(`attempt ${attempt} failed`) },
 * );
 * console.log(outcome);
 * // Output:
 * // attempt 1 failed
 * // attempt 2 failed
 * // { ok: true, value: 'done', attempts: 3 }
 * ```
 *
 * @param attempt - Makes one attempt; receives the attempt number and that attempt's signal.
 * @param options - Retry policy, signal, clock and hooks; see {@link RETRY_BACKOFF_DEFAULTS}.
 * @returns The value with the number of attempts made, or the last error with that number.
 * @throws `ERR_INVALID_OPTION` (rejects) for a bad option; `signal.reason` on abort.
 * @category operators
 */
export async function retryBackoff<T>(
  attempt: (context: RetryAttemptContext) => PromiseLike<T> | T,
  options: Readonly<RetryBackoffOptions> = {},
): Promise<RetryOutcome<T>> {
  checkFunction('attempt', attempt);
  const o = resolveRetryOptions(options);
  return retryResolved(attempt, o, o.signal, o.onRetry);
}

/**
 * {@link retryBackoff} with options already merged and checked by {@link resolveRetryOptions}:
 * callDify resolves its policy once, not once per item.
 * @internal
 */
export async function retryResolved<T>(
  attempt: (context: RetryAttemptContext) => PromiseLike<T> | T,
  o: ResolvedRetryOptions,
  // Per call, so callDify can share one resolved policy across items without copying it.
  signal: AbortSignal | undefined,
  onRetry: ((event: RetryEvent) => void) | undefined,
  // callDify makes the first attempt itself (no Promise on the path of the calls that succeed) and
  // hands only a failure over: the loop then starts at the retry decision after attempt 1.
  firstFailure?: { readonly error: unknown; readonly startedAt: number },
): Promise<RetryOutcome<T>> {
  const { scheduler } = o;
  signal?.throwIfAborted();
  const startedAt = firstFailure?.startedAt ?? scheduler.now();
  let attempts = firstFailure === undefined ? 0 : 1;
  // Failures that used up an attempt; uncounted ones (rate limits, outages waited out) do not.
  let counted = 0;
  let deadlineExceeded = false;

  // Attempts share the caller's signal: a per-attempt AbortController would cost an allocation and a
  // listener per item for nothing, since nothing ever aborts one attempt alone.
  const attemptSignal = signal ?? neverAborted();

  const runAttempt = async (attemptNumber: number): Promise<T> => {
    signal?.throwIfAborted();
    attempts = attemptNumber;
    try {
      return await raceAbort(
        Promise.resolve().then(() => attempt({ attempt: attemptNumber, signal: attemptSignal })),
        signal,
      );
    } catch (error) {
      throw new AttemptFailed(error);
    }
  };

  // Decides, reports, then waits (p-retry awaits it, so the wait sits between the two attempts).
  const retryAfterWait = async (error: unknown, failedAttempt: number): Promise<boolean> => {
    signal?.throwIfAborted();
    const original = error instanceof AttemptFailed ? error.original : error;
    if (!o.shouldRetry(original)) return false;
    const free = o.uncounted?.(original) ?? false;
    if (free === false && ++counted >= o.maxAttempts) return false;
    const delayMs = free === 'now' ? 0 : backoffDelay(failedAttempt, original, o);
    if (scheduler.now() - startedAt + delayMs > o.maxRetryTimeMs) {
      deadlineExceeded = true;
      return false;
    }
    onRetry?.({ attempt: failedAttempt, error: original, delayMs });
    await delay(delayMs, scheduler, signal);
    return true;
  };

  const failed = (error: unknown): RetryOutcome<T> =>
    deadlineExceeded
      ? { ok: false, error, attempts, deadlineExceeded: true }
      : { ok: false, error, attempts };

  // Fast path: most calls succeed at once, and p-retry's per-call setup (option copies, validation,
  // closures) was a sixth of the pipeline's CPU per item. p-retry takes over from the first failure.
  if (firstFailure === undefined) {
    try {
      return { ok: true, value: await runAttempt(1), attempts: 1 };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!(error instanceof AttemptFailed)) throw error;
      if (!(await retryAfterWait(error, 1))) return failed(error.original);
    }
  } else if (!(await retryAfterWait(firstFailure.error, 1))) {
    return failed(firstFailure.error);
  }
  try {
    // p-retry runs the loop and its abort handling; the budget is ours (counted failures, deadline),
    // because p-retry's own `shouldConsumeRetry` skips the wait and still stops at `retries`.
    const value = await pRetry((n: number) => runAttempt(n + 1), {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 0,
      maxTimeout: 0,
      randomize: false,
      shouldRetry: ({ error, attemptNumber }) => retryAfterWait(error, attemptNumber + 1),
      ...(signal === undefined ? {} : { signal }),
    });
    return { ok: true, value, attempts };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof AttemptFailed) return failed(error.original);
    throw error;
  }
}

/** A signal for attempts when the caller gave none. */
function neverAborted(): AbortSignal {
  return new AbortController().signal;
}

/** The wait before the attempt after `failedAttempt`: the server's Retry-After (capped) or full jitter. */
function backoffDelay(failedAttempt: number, error: unknown, o: ResolvedRetryOptions): number {
  const retryAfterMs = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return Math.min(retryAfterMs, o.maxRetryAfterMs);
  }
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (failedAttempt - 1));
  // Clamped so a sloppy injected random() can never make a negative or oversized wait.
  const r = o.random();
  const jitter = r > 0 ? Math.min(1, r) : 0;
  return jitter * ceiling;
}
