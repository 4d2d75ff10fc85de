import { asyncScheduler, type SchedulerLike } from 'rxjs';
import {
  checkInteger,
  checkIntegerIn,
  checkNumber,
  checkOption,
  checkScheduler,
  checkSignal,
} from '../internal/checkOption.js';
import { WaitQueue } from '../internal/WaitQueue.js';

/** Options of {@link AdaptiveConcurrency}. */
export interface AdaptiveConcurrencyOptions {
  /** The ceiling: never more calls than this (callDify's `concurrency`). */
  readonly max: number;
  /** The floor the limit never drops below. @defaultValue 1 */
  readonly min?: number;
  /**
   * The limit to start from. Until the first rate-limit signal the limit grows by one per success
   * (doubling every round of calls, TCP's slow start), so a server with a low limit sees a handful of
   * refused calls at start-up instead of a burst of `max`. Not 1: a single slow first call would then
   * hold the whole run.
   * @defaultValue min(max, max(min, 4))
   */
  readonly initial?: number;
  /** On a rate-limit signal the limit is multiplied by this. @defaultValue 0.5 */
  readonly decreaseFactor?: number;
  /**
   * After a decrease, further rate-limit signals are also ignored this long. (Signals from calls that
   * started before the last decrease are always ignored: they were sent under the old limit and say
   * nothing about the new one.)
   * @defaultValue 0
   */
  readonly cooldownMs?: number;
  /**
   * How long a limit the server stated (Dify's "… is N.") stays a hard ceiling after the last refusal
   * that stated it. After this quiet period the ceiling is `max` again and the additive increase probes
   * one call above N: one refusal per period if N still holds, and a raised limit is found.
   * @defaultValue 60000
   */
  readonly statedLimitMs?: number;
  /** Clock for the cooldown and `statedLimitMs` (a TestScheduler makes it virtual). @defaultValue asyncScheduler */
  readonly scheduler?: SchedulerLike;
}

/** Defaults of {@link AdaptiveConcurrencyOptions}. */
export const ADAPTIVE_CONCURRENCY_DEFAULTS = Object.freeze({
  min: 1,
  decreaseFactor: 0.5,
  cooldownMs: 0,
  statedLimitMs: 60_000,
  scheduler: asyncScheduler as SchedulerLike,
});

/** The default first round: small enough that a low limit refuses few calls, 4 calls for one slow one. */
const INITIAL_LIMIT = 4;

/** How a call ended, as far as the limit is concerned. */
export type CallOutcome = 'ok' | 'rate-limited' | 'other';

/**
 * An AIMD concurrency limit shared by every call of a run: it finds the server's real capacity
 * instead of hammering it (fixed high concurrency) or idling (fixed low concurrency).
 *
 * @remarks
 * - **Slow start:** from `initial` (default 4), each successful call adds one, doubling the limit
 *   every round of calls, until the first rate-limit signal: starting at `max` would send a burst of
 *   `max` calls into a server that may admit 2 (measured: 28 of the first 32 refused under a limit of 4).
 * - **Additive increase:** after that, each successful call adds `1 / limit`, so the limit grows by
 *   about one per round of calls, up to `max`.
 * - **Multiplicative decrease:** a rate-limit signal (429, or Dify's concurrency limit, which it
 *   answers as 400 `Too many requests.`) multiplies the limit by `decreaseFactor`, never below
 *   `min` — once per "generation": only a call that started after the last decrease can cause the
 *   next one, so a burst of rejections from one overload halves the limit once, not thirty times.
 * - **A stated limit:** when the rejection says the server's limit (Dify's concurrency-limit message
 *   ends "… is N."; callDify passes N to `release`), the limit drops to N at once and holds there: it
 *   grows above N only after `statedLimitMs` without such a refusal (one probe, one refusal if N
 *   still holds), since probing above a limit the server told us costs a rejection per probe.
 * - Callers `acquire()` a slot before each attempt (FIFO, abortable; it resolves with the current
 *   generation) and `release()` it with the outcome and that generation. Calls are admitted while
 *   `inFlight < floor(limit)`.
 *
 * @example
 * ```ts
 * import { AdaptiveConcurrency } from 'dify-batch/limits';
 *
 * const limit = new AdaptiveConcurrency({ max: 16, initial: 16 });
 * const generation = await limit.acquire();
 * limit.release('rate-limited', generation);
 * console.log(limit.limit);
 * // Output:
 * // 8
 * ```
 * @category operators
 */
export class AdaptiveConcurrency {
  readonly #max: number;
  readonly #min: number;
  readonly #factor: number;
  readonly #cooldownMs: number;
  readonly #statedLimitMs: number;
  readonly #scheduler: SchedulerLike;
  readonly #queue = new WaitQueue<number>();
  #limit: number;
  /** `max`, or lower once the server stated its limit. */
  #ceiling: number;
  /** When a refusal last stated `#ceiling`. */
  #statedAt = Number.NEGATIVE_INFINITY;
  /** Growing by one per success until the first rate-limit signal. */
  #slowStart = true;
  #inFlight = 0;
  #lastDecreaseAt = Number.NEGATIVE_INFINITY;
  #decreases = 0;

  /** @throws `ERR_INVALID_OPTION` for a bad option. */
  constructor(options: Readonly<AdaptiveConcurrencyOptions>) {
    const o = { ...ADAPTIVE_CONCURRENCY_DEFAULTS, ...options };
    this.#max = checkInteger('max', o.max, 1);
    this.#min = checkIntegerIn('min', o.min, 1, this.#max);
    const initial = checkIntegerIn(
      'initial',
      o.initial ?? Math.min(this.#max, Math.max(this.#min, INITIAL_LIMIT)),
      this.#min,
      this.#max,
    );
    this.#limit = initial;
    this.#ceiling = this.#max;
    const factor = o.decreaseFactor;
    checkOption(
      typeof factor === 'number' && factor > 0 && factor < 1,
      'decreaseFactor',
      'a number between 0 and 1, both excluded',
      factor,
    );
    this.#factor = factor;
    this.#cooldownMs = checkNumber('cooldownMs', o.cooldownMs, 0);
    this.#statedLimitMs = checkNumber('statedLimitMs', o.statedLimitMs, 0);
    this.#scheduler = checkScheduler(o.scheduler);
  }

  /** The current limit (whole calls). */
  get limit(): number {
    return Math.floor(this.#limit);
  }

  /** Calls holding a slot now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** How many times the limit was cut. */
  get decreases(): number {
    return this.#decreases;
  }

  /**
   * Takes a slot at once if one is free and nobody waits (FIFO: never overtakes a waiter); returns the
   * current generation (pass it to `release`), or `undefined` when the caller must `acquire()` instead.
   * The uncontended path of callDify: no Promise, no microtask.
   */
  tryAcquire(): number | undefined {
    if (this.#queue.length !== 0 || this.#inFlight >= this.limit) return undefined;
    this.#inFlight++;
    return this.#decreases;
  }

  /**
   * Waits for a slot and takes it; resolves with the current generation (pass it to `release`).
   * Rejects with `signal.reason` on abort, leaving the queue.
   */
  acquire(signal?: AbortSignal): Promise<number> {
    checkSignal(signal);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const generation = this.tryAcquire();
    if (generation !== undefined) return Promise.resolve(generation);
    return this.#queue.wait(signal);
  }

  /**
   * Gives a slot back and adapts the limit to how the call ended. `serverLimit`: the limit the server
   * stated in its rate-limit answer, if it did.
   */
  release(outcome: CallOutcome, generation: number = this.#decreases, serverLimit?: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (outcome === 'ok') {
      if (this.#ceiling < this.#max && this.#scheduler.now() - this.#statedAt >= this.#statedLimitMs) {
        this.#ceiling = this.#max; // a quiet period: the stated limit may have been raised
      }
      const step = this.#slowStart ? 1 : 1 / this.#limit;
      this.#limit = Math.min(this.#ceiling, this.#limit + step);
    } else if (outcome === 'rate-limited') {
      this.#slowStart = false;
      const now = this.#scheduler.now();
      const stated = serverLimit === undefined ? undefined : Math.max(this.#min, Math.floor(serverLimit));
      if (stated !== undefined && stated <= this.#ceiling) this.#statedAt = now;
      if (stated !== undefined && stated < this.#ceiling) {
        this.#ceiling = stated;
        if (this.#limit > stated) {
          this.#limit = stated;
          this.#lastDecreaseAt = now;
          this.#decreases++;
        }
      } else if (generation === this.#decreases && now - this.#lastDecreaseAt >= this.#cooldownMs) {
        this.#lastDecreaseAt = now;
        this.#limit = Math.max(this.#min, this.#limit * this.#factor);
        this.#decreases++;
      }
    }
    while (this.#queue.length > 0 && this.#inFlight < this.limit) {
      this.#inFlight++;
      this.#queue.resolveNext(this.#decreases);
    }
  }
}
