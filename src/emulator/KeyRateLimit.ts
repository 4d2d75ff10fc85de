/**
 * The emulator's per-app-key rate limit (the `rateLimitRps` knob): a token bucket of at most
 * `ratePerSecond` tokens (a burst of one second), refilled continuously, that never waits — a call
 * over the limit is refused with the seconds to wait. Not the client's `TokenBucket`
 * (src/limits), which delays calls to stay under a quota.
 */
export class KeyRateLimit {
  readonly #rate: number;
  #tokens: number;
  /** Undefined until the first call when the bucket starts empty: it fills from the first call on. */
  #last: number | undefined;

  /**
   * @param startsFull - with a full second's burst (true), or empty at the first call (false): then the
   *   idle time before a client's first call earns it nothing, and no client gets more than
   *   `ratePerSecond` × the seconds since its first call.
   */
  constructor(ratePerSecond: number, now: number, startsFull: boolean) {
    this.#rate = ratePerSecond;
    this.#tokens = startsFull ? Math.max(1, ratePerSecond) : 0;
    this.#last = startsFull ? now : undefined;
  }

  /**
   * Takes one token and returns 0, or returns the whole seconds (≥ 1) until one is available: the
   * `Retry-After` value.
   */
  take(now: number): number {
    const capacity = Math.max(1, this.#rate);
    const last = this.#last ?? now;
    this.#tokens = Math.min(capacity, this.#tokens + ((now - last) * this.#rate) / 1000);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#rate));
  }
}
