import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import {
  checkInteger,
  checkNumber,
  checkOption,
  checkScheduler,
  checkSignal,
} from '../internal/checkOption.js';
import { WaitQueue } from '../internal/WaitQueue.js';

/** Options of {@link TokenBucket}. Set `perSecond`, `perMinute` or both (then both hold). */
export interface TokenBucketOptions {
  /**
   * Sustained calls per second (may be fractional: `0.5` = one every 2 s).
   * @defaultValue undefined (no per-second limit)
   */
  readonly perSecond?: number | undefined;
  /**
   * Sustained calls per minute.
   * @defaultValue undefined (no per-minute limit)
   */
  readonly perMinute?: number | undefined;
  /**
   * Calls that may go out back-to-back after an idle spell, for each configured rate. `1` spaces
   * calls evenly, which is what a server's rate limiter is least likely to punish.
   * @defaultValue 1
   */
  readonly burst?: number;
  /**
   * Clock and timer (a TestScheduler makes them virtual).
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
}

/** Defaults of {@link TokenBucketOptions}. */
export const TOKEN_BUCKET_DEFAULTS = Object.freeze({
  perSecond: undefined as number | undefined,
  perMinute: undefined as number | undefined,
  burst: 1,
  scheduler: asyncScheduler as SchedulerLike,
});

// One rate as a GCRA cell (equivalent to a token bucket, but exact with fractional rates): a call
// conforms when now ≥ tat − tolerance, and then pushes the theoretical arrival time one interval on.
interface Cell {
  readonly intervalMs: number;
  readonly toleranceMs: number;
  tat: number;
}

// Float slack: 3 × 333.33… must still count as 1000 ms.
const EPSILON_MS = 1e-6;

/**
 * A token bucket shared by every call that should count against one rate limit: all in-flight
 * items, and every attempt (retries included) when passed to callDify as `rateLimiter`.
 *
 * @remarks
 * - **Ordering:** FIFO-fair. Tokens go to waiters in the order `take()` was called; a caller never
 *   overtakes one that is already waiting, even if a token is free at that instant.
 * - **Backpressure:** `take()` resolves when a token is granted, so awaiting it slows the caller
 *   down; waiters are held in a queue whose size is the number of concurrent callers.
 * - **Cancellation:** `take(signal)` rejects with `signal.reason` on abort, leaves the queue and
 *   removes its listener; when nobody waits, no timer is pending.
 * - **Errors:** bad options throw `ERR_INVALID_OPTION` from the constructor.
 *
 * @example
 * ```ts
 * import { TokenBucket } from 'dify-batch/limits';
 *
 * const bucket = new TokenBucket({ perSecond: 100 }); // one token every 10 ms
 * const started = Date.now();
 * await Promise.all([bucket.take(), bucket.take(), bucket.take()]);
 * console.log(Date.now() - started >= 19);
 * // Output:
 * // true
 * ```
 * @category operators
 */
export class TokenBucket {
  readonly #cells: Cell[] = [];
  readonly #scheduler: SchedulerLike;
  readonly #queue = new WaitQueue<void>();
  #timer: Subscription | undefined;

  /**
   * @param options - The rates, the burst and the clock; see {@link TOKEN_BUCKET_DEFAULTS}.
   * @throws `ERR_INVALID_OPTION` when no rate is set or a value is out of range.
   */
  constructor(options: Readonly<TokenBucketOptions>) {
    const o = { ...TOKEN_BUCKET_DEFAULTS, ...options };
    const burst = checkInteger('burst', o.burst, 1);
    this.#scheduler = checkScheduler(o.scheduler);
    const rates: [string, number | undefined, number][] = [
      ['perSecond', o.perSecond, 1000],
      ['perMinute', o.perMinute, 60_000],
    ];
    for (const [name, count, periodMs] of rates) {
      if (count === undefined) continue;
      checkNumber(name, count, 0, { exclusive: true });
      const intervalMs = periodMs / count;
      this.#cells.push({ intervalMs, toleranceMs: (burst - 1) * intervalMs, tat: Number.NEGATIVE_INFINITY });
    }
    checkOption(
      this.#cells.length > 0,
      'perSecond',
      'a number greater than 0 (or set `perMinute`)',
      o.perSecond,
    );
  }

  /** How many callers wait for a token right now. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Takes a token at once if one is free and nobody waits (FIFO: never overtakes a waiter); `false` when
   * the caller must `take()` instead. The uncontended path of callDify: no Promise, no microtask.
   */
  tryTake(): boolean {
    return this.#queue.length === 0 && this.#tryTake();
  }

  /**
   * Waits for a token and takes it.
   * @param signal - Leaves the queue on abort.
   * @returns Resolves once the token is taken; rejects with `signal.reason` on abort.
   */
  take(signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryTake()) return Promise.resolve();
    // Nobody left to serve after an abort: drop the timer so it neither fires for nothing nor holds the process.
    const waiting = this.#queue.wait(signal, () => {
      if (this.#queue.length === 0) this.#disarm();
    });
    this.#arm();
    return waiting;
  }

  /**
   * `queued`: a waiter has been owed this token since `tat`. Timers fire late (a millisecond or more
   * on a busy loop), and charging that lateness to the schedule would lose ~10% of a 100/s rate; so
   * a queued take keeps the schedule, catching up at most one interval.
   */
  #tryTake(queued = false): boolean {
    const now = this.#scheduler.now();
    for (const cell of this.#cells) if (now + EPSILON_MS < cell.tat - cell.toleranceMs) return false;
    for (const cell of this.#cells) {
      cell.tat =
        (queued ? Math.max(cell.tat, now - cell.intervalMs) : Math.max(cell.tat, now)) + cell.intervalMs;
    }
    return true;
  }

  // One timer serves the whole queue: it fires when the head can take a token, grants as many
  // waiters as conform, and re-arms for the rest.
  #arm(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    const now = this.#scheduler.now();
    let waitMs = 0;
    for (const cell of this.#cells) waitMs = Math.max(waitMs, cell.tat - cell.toleranceMs - now);
    this.#timer = this.#scheduler.schedule(() => {
      this.#timer = undefined;
      this.#grant();
    }, waitMs);
  }

  #disarm(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
  }

  #grant(): void {
    while (this.#queue.length > 0 && this.#tryTake(true)) this.#queue.resolveNext();
    this.#arm();
  }
}
