import { AdaptiveConcurrency, type CallOutcome } from '../limits/AdaptiveConcurrency.js';
import type { BatchMetrics } from '../metrics/BatchMetrics.js';
import {
  type ResolvedRetryOptions,
  type RetryOutcome,
  type RetryPolicy,
  resolveRetryOptions,
  retryResolved,
} from '../operators/retryBackoff.js';

/** Options of {@link UpstreamScheduler}. */
export interface UpstreamSchedulerOptions {
  /** Upstream calls in flight at most, over every caller: the adaptive limit's ceiling. */
  readonly concurrency: number;
  /** Items admitted but not yet started, at most, over every caller. */
  readonly queue: number;
  readonly retry?: Readonly<RetryPolicy> | undefined;
  readonly metrics: BatchMetrics;
}

/** One upstream slot taken by {@link UpstreamScheduler.acquireSlot}; release it exactly once. */
export interface UpstreamSlot {
  /** Gives the slot back; `rate-limited` halves the shared limit (AIMD), `ok` grows it. */
  release(outcome: CallOutcome): void;
}

/** Weight of the newest latency in the moving average behind `Retry-After`. */
const EWMA_WEIGHT = 0.2;
const MAX_RETRY_AFTER_S = 60;

/**
 * The gateway's one scheduler, shared by every request: a bounded admission queue, one AIMD
 * concurrency limit and one retry policy, so the upstream sees at most `concurrency` calls however
 * many clients call the gateway.
 *
 * @remarks
 * - A request's items are admitted all at once (`admit`) or not at all: the caller answers 429 then.
 * - Each item waits FIFO for a slot of the {@link AdaptiveConcurrency} before every attempt (retries
 *   included) and releases it right after, so a backoff wait holds no slot.
 * - Aborting an item's signal before its first attempt takes a slot means its call is never made; an
 *   attempt in flight is cancelled (undici aborts the request).
 */
export class UpstreamScheduler {
  readonly #adaptive: AdaptiveConcurrency;
  readonly #policy: ResolvedRetryOptions;
  readonly #queue: number;
  readonly #metrics: BatchMetrics;
  #queued = 0;
  #latencyMs = 0;

  constructor(options: UpstreamSchedulerOptions) {
    // Callers arrive over time rather than as one burst: the gateway starts at its full ceiling.
    this.#adaptive = new AdaptiveConcurrency({ max: options.concurrency, initial: options.concurrency });
    this.#policy = resolveRetryOptions(options.retry ?? {});
    this.#queue = options.queue;
    this.#metrics = options.metrics;
    this.#metrics.concurrencyLimit.set(this.#adaptive.limit);
  }

  /** Items admitted and not yet started. */
  get queued(): number {
    return this.#queued;
  }

  /** Upstream calls in flight now. */
  get inFlight(): number {
    return this.#adaptive.inFlight;
  }

  /** Reserves room for `count` items; false (nothing reserved) when the queue cannot take them all. */
  admit(count: number): boolean {
    if (this.#queued + count > this.#queue) return false;
    this.#queued += count;
    this.#metrics.queueDepth.set(this.#queued);
    return true;
  }

  /** A `Retry-After` (whole seconds) for a refused request: about how long the queue takes to drain. */
  retryAfterSeconds(): number {
    const perSlot = (this.#queued / Math.max(1, this.#adaptive.limit)) * this.#latencyMs;
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(perSlot / 1000)));
  }

  /**
   * Takes one concurrency slot for a single attempt (no queue admission, no retry): for callers with
   * their own retry loop, such as jobs (a runBatch whose transport goes through this scheduler), so
   * jobs and synchronous batches share one concurrency. Rejects with `signal.reason` on abort.
   */
  async acquireSlot(signal: AbortSignal): Promise<UpstreamSlot> {
    const generation = await this.#adaptive.acquire(signal);
    this.#metrics.inFlight.inc();
    const startedAt = performance.now();
    let released = false;
    return {
      release: (outcome) => {
        if (released) return;
        released = true;
        const ms = performance.now() - startedAt;
        this.#latencyMs += EWMA_WEIGHT * (ms - this.#latencyMs);
        this.#metrics.inFlight.dec();
        this.#adaptive.release(outcome, generation);
        this.#metrics.concurrencyLimit.set(this.#adaptive.limit);
      },
    };
  }

  /**
   * Runs one admitted item: `attempt` under a concurrency slot, retried by the policy. Resolves with the
   * outcome (a final failure included); rejects only with `signal.reason` on abort.
   */
  async run<T>(attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<RetryOutcome<T>> {
    let started = false;
    const start = (): void => {
      if (started) return;
      started = true;
      this.#queued--;
      this.#metrics.queueDepth.set(this.#queued);
    };
    try {
      const outcome = await retryResolved(
        async ({ signal: attemptSignal }) => {
          const generation = await this.#adaptive.acquire(attemptSignal);
          start();
          this.#metrics.inFlight.inc();
          const startedAt = performance.now();
          let outcome: CallOutcome = 'other';
          try {
            const value = await attempt(attemptSignal);
            outcome = 'ok';
            return value;
          } catch (error) {
            if ((error as { code?: unknown } | null)?.code === 'ERR_DIFY_RATE_LIMITED')
              outcome = 'rate-limited';
            throw error;
          } finally {
            const ms = performance.now() - startedAt;
            this.#latencyMs += EWMA_WEIGHT * (ms - this.#latencyMs);
            this.#metrics.upstreamDuration.observe({ outcome: outcome === 'ok' ? 'ok' : 'error' }, ms / 1000);
            this.#metrics.inFlight.dec();
            this.#adaptive.release(outcome, generation);
            this.#metrics.concurrencyLimit.set(this.#adaptive.limit);
          }
        },
        this.#policy,
        signal,
        () => this.#metrics.retries.inc(),
      );
      return outcome;
    } finally {
      start();
    }
  }
}
