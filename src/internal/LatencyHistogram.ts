/**
 * Fixed-memory latency histogram (used by runBatch's summary): log-spaced buckets with ~2% relative
 * error from 0.01 ms to ~1 day, so a run of 5M items costs the same few KB as a run of 5.
 */
export class LatencyHistogram {
  // 2% steps: bucket i covers [MIN·G^i, MIN·G^(i+1)).
  static readonly #growth = 1.02;
  static readonly #minMs = 0.01;
  static readonly #buckets = Math.ceil(
    Math.log(8.64e7 / LatencyHistogram.#minMs) / Math.log(LatencyHistogram.#growth),
  );
  readonly #counts = new Uint32Array(LatencyHistogram.#buckets + 1);
  #count = 0;
  #sum = 0;
  #max = 0;

  record(ms: number): void {
    const v = Math.max(ms, 0);
    const i =
      v < LatencyHistogram.#minMs
        ? 0
        : Math.min(
            LatencyHistogram.#buckets,
            1 + Math.floor(Math.log(v / LatencyHistogram.#minMs) / Math.log(LatencyHistogram.#growth)),
          );
    this.#counts[i]! += 1;
    this.#count += 1;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  get max(): number {
    return this.#max;
  }

  /** The value at quantile q in [0, 1] (upper edge of its bucket, capped by the max seen). */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        const upper =
          i === 0 ? LatencyHistogram.#minMs : LatencyHistogram.#minMs * LatencyHistogram.#growth ** i;
        return Math.min(upper, this.#max);
      }
    }
    return this.#max;
  }
}
