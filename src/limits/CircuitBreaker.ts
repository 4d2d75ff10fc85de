import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { checkInteger, checkNumber, checkScheduler, checkSignal } from '../internal/checkOption.js';
import { WaitQueue } from '../internal/WaitQueue.js';

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /**
   * Outage failures in a row (no call answered in between) that open the breaker. "Across the board",
   * not one record's trouble: unless every failure of the streak was `unreachable` (the request never
   * reached the server), they must come from at least two records.
   * @defaultValue 3
   */
  readonly failureThreshold?: number;
  /** Wait before the first probe after the breaker opens; it doubles after each failed probe. @defaultValue 250 */
  readonly probeDelayMs?: number;
  /** Cap of the wait between probes. @defaultValue 5000 */
  readonly maxProbeDelayMs?: number;
  /**
   * How long the server may stay down (from the first failure of the streak) before the breaker gives
   * up: every waiting and later call then rejects with `ERR_DIFY_UNREACHABLE`.
   * @defaultValue 300000
   */
  readonly maxOutageMs?: number;
  /** Clock and timer of the probes (a TestScheduler makes them virtual). @defaultValue asyncScheduler */
  readonly scheduler?: SchedulerLike;
}

/** Defaults of {@link CircuitBreakerOptions}. */
export const CIRCUIT_BREAKER_DEFAULTS = Object.freeze({
  failureThreshold: 3,
  probeDelayMs: 250,
  maxProbeDelayMs: 5_000,
  maxOutageMs: 300_000,
  scheduler: asyncScheduler as SchedulerLike,
});

/**
 * How a call ended, for the breaker: `up` (the server answered, whatever it said), `unreachable` (the
 * request never reached it), `outage` (network failure after sending, broken stream, 5xx), `cancelled`
 * (aborted by us: says nothing).
 */
export type BreakerOutcome = 'up' | 'unreachable' | 'outage' | 'cancelled';

/** What {@link CircuitBreaker.acquire} grants: pass it back to `release`. */
export interface BreakerPass {
  /** This call is the one probe let through while the breaker is open. */
  readonly probe: boolean;
}

const PASS: BreakerPass = Object.freeze({ probe: false });
const PROBE: BreakerPass = Object.freeze({ probe: true });

/**
 * A circuit breaker shared by every call of a run: when calls fail for network reasons or 5xx across
 * the board, it stops all calls and lets one probe through at a time (with backoff) until the server
 * answers, instead of letting every record burn its attempts against a dead server.
 *
 * @remarks
 * - **Closed** (normal): calls pass at once. `failureThreshold` outage failures in a row open it,
 *   from two records at least unless none of them reached the server.
 * - **Open**: calls wait in FIFO order. After `probeDelayMs` (doubling, capped at `maxProbeDelayMs`) the
 *   longest-waiting call goes through as the probe. Any answer from the server closes the breaker and
 *   releases every waiting call; a failed probe reopens it.
 * - **Uncounted failures**: `release` returns `true` when the failed call should not count against its
 *   record's attempts: any failure while the breaker is open, except a probe that reached the server
 *   and failed there (a 5xx, a timeout after sending): that could be the record's own trouble, so it
 *   counts, and a record that keeps failing as the probe fails in the end instead of stalling the run.
 * - **Giving up**: once a probe fails more than `maxOutageMs` after the outage began, the breaker is
 *   dead: every waiting and later `acquire` rejects with `ERR_DIFY_UNREACHABLE` ("Dify unreachable since
 *   <ISO time>"), which runBatch treats as fatal.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from 'dify-batch/limits';
 *
 * const breaker = new CircuitBreaker({ failureThreshold: 2 });
 * for (let i = 0; i < 2; i++) breaker.release('unreachable', await breaker.acquire());
 * console.log(breaker.state);
 * // Output:
 * // open
 * ```
 * @category operators
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #firstProbeDelayMs: number;
  readonly #maxProbeDelayMs: number;
  readonly #maxOutageMs: number;
  readonly #scheduler: SchedulerLike;
  readonly #queue = new WaitQueue<BreakerPass>();
  #state: 'closed' | 'open' | 'probing' | 'dead' = 'closed';
  #failures = 0;
  /** Records (their keys) seen failing in the current streak, up to two: enough to tell "across the board". */
  #streakKeys = new Set<unknown>();
  #streakReachedServer = false;
  #downSince = 0;
  #probeDelayMs: number;
  #probeDue = false;
  #timer: Subscription | undefined;
  #fatal: DifyBatchError | undefined;
  #openings = 0;

  /** @throws `ERR_INVALID_OPTION` for a bad option. */
  constructor(options: Readonly<CircuitBreakerOptions> = {}) {
    const o = { ...CIRCUIT_BREAKER_DEFAULTS, ...options };
    this.#threshold = checkInteger('failureThreshold', o.failureThreshold, 1);
    this.#firstProbeDelayMs = checkNumber('probeDelayMs', o.probeDelayMs, 0);
    this.#maxProbeDelayMs = checkNumber('maxProbeDelayMs', o.maxProbeDelayMs, 0);
    this.#maxOutageMs = checkNumber('maxOutageMs', o.maxOutageMs, 0, { allowInfinity: true });
    this.#scheduler = checkScheduler(o.scheduler);
    this.#probeDelayMs = this.#firstProbeDelayMs;
  }

  /** `closed`, `open` (waiting for the next probe), `probing` (a probe is out) or `dead` (gave up). */
  get state(): 'closed' | 'open' | 'probing' | 'dead' {
    return this.#state;
  }

  /** How many times the breaker opened. */
  get openings(): number {
    return this.#openings;
  }

  /** A pass at once while the breaker is closed (the common case: no Promise, no microtask), else undefined. */
  passIfClosed(): BreakerPass | undefined {
    return this.#state === 'closed' ? PASS : undefined;
  }

  /**
   * Waits until a call may go out (at once while closed). Rejects with `signal.reason` on abort, or with
   * the `ERR_DIFY_UNREACHABLE` error once the breaker gave up.
   */
  acquire(signal?: AbortSignal): Promise<BreakerPass> {
    checkSignal(signal);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#state === 'closed') return Promise.resolve(PASS);
    if (this.#state === 'dead') return Promise.reject(this.#fatal);
    if (this.#state === 'open' && this.#probeDue && this.#queue.length === 0) {
      this.#startProbe();
      return Promise.resolve(PROBE);
    }
    return this.#queue.wait(signal);
  }

  /**
   * Reports how a call that `acquire` let through ended. Returns `true` when that call, if it failed,
   * should not count against its record's attempts (see the class remarks). `key` names the record
   * (any value), so a streak of failures from one record alone can be told from an outage.
   */
  release(outcome: BreakerOutcome, pass: BreakerPass = PASS, key?: unknown): boolean {
    if (outcome === 'cancelled') {
      // A probe that never got an answer proves nothing: let the next waiting call probe.
      if (pass.probe && this.#state === 'probing') this.#reopen(false);
      return true;
    }
    if (outcome === 'up') {
      this.#failures = 0;
      // Only when there is a streak: V8's Set#clear allocates a new table even for an empty set, and
      // this runs for every successful call.
      if (this.#streakKeys.size > 0) this.#streakKeys.clear();
      this.#streakReachedServer = false;
      if (this.#state === 'open' || this.#state === 'probing') this.#close();
      return false;
    }
    switch (this.#state) {
      case 'closed':
        if (this.#failures++ === 0) this.#downSince = this.#scheduler.now();
        if (this.#streakKeys.size < 2) this.#streakKeys.add(key);
        if (outcome === 'outage') this.#streakReachedServer = true;
        if (this.#failures < this.#threshold) return false;
        if (this.#streakReachedServer && this.#streakKeys.size < 2) return false;
        this.#openings++;
        this.#reopen(false);
        return true;
      case 'probing':
        if (!pass.probe) return true;
        this.#reopen(true);
        return outcome === 'unreachable';
      default:
        return true;
    }
  }

  /**
   * Cancels the pending probe timer (so it cannot keep a process alive after a run ended) and rejects
   * every waiting call with `reason`. The breaker lets calls through again only after an answer.
   */
  dispose(reason: unknown = new DifyBatchError('ERR_ABORTED', 'CircuitBreaker disposed')): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#queue.rejectAll(reason);
  }

  #close(): void {
    this.#state = 'closed';
    this.#probeDue = false;
    this.#probeDelayMs = this.#firstProbeDelayMs;
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    while (this.#queue.resolveNext(PASS)) {
      // every waiting call goes out now
    }
  }

  /** Opens (again) and schedules the next probe; after a failed probe past `maxOutageMs`, gives up. */
  #reopen(probeFailed: boolean): void {
    const now = this.#scheduler.now();
    if (probeFailed && now - this.#downSince >= this.#maxOutageMs) {
      this.#giveUp();
      return;
    }
    this.#state = 'open';
    this.#probeDue = false;
    if (probeFailed) this.#probeDelayMs = Math.min(this.#maxProbeDelayMs, this.#probeDelayMs * 2);
    const wait = this.#probeDelayMs;
    // Never sleep past the end of the allowed outage: the last probe goes out at that moment.
    const untilDeadline = Math.max(0, this.#downSince + this.#maxOutageMs - now);
    this.#timer?.unsubscribe();
    this.#timer = this.#scheduler.schedule(
      () => {
        this.#timer = undefined;
        this.#probeDue = true;
        if (this.#queue.length > 0) this.#startProbe();
      },
      Math.min(wait, untilDeadline),
    );
  }

  #startProbe(): void {
    this.#state = 'probing';
    this.#probeDue = false;
    this.#queue.resolveNext(PROBE);
  }

  #giveUp(): void {
    this.#state = 'dead';
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    // The scheduler's clock is wall time (asyncScheduler: Date.now), so this is when the outage began.
    const since = new Date(this.#downSince).toISOString();
    this.#fatal = new DifyBatchError(
      'ERR_DIFY_UNREACHABLE',
      `Dify unreachable since ${since} (longer than maxOutageMs = ${this.#maxOutageMs} ms)`,
    );
    this.#queue.rejectAll(this.#fatal);
  }
}
