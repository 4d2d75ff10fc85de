/**
 * A token bucket holding at most `ratePerSecond` tokens (a burst of one second), refilled continuously.
 * Used by `EmulatorServer` for the `rateLimitRps` knob, one bucket per app key.
 */
export class TokenBucket {
  readonly #rate: number;
  #tokens: number;
  #last: number;

  /** @param startsFull - with a full second's burst (true) or empty (false) */
  constructor(ratePerSecond: number, now: number, startsFull: boolean) {
    this.#rate = ratePerSecond;
    this.#tokens = startsFull ? Math.max(1, ratePerSecond) : 0;
    this.#last = now;
  }

  /**
   * Takes one token and returns 0, or returns the whole seconds (≥ 1) until one is available: the
   * `Retry-After` value.
   */
  take(now: number): number {
    const capacity = Math.max(1, this.#rate);
    this.#tokens = Math.min(capacity, this.#tokens + ((now - this.#last) * this.#rate) / 1000);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#rate));
  }
}
