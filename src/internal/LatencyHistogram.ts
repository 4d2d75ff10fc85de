import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/**
 * Latencies in milliseconds over Node's HDR histogram (`perf_hooks.createHistogram`), used by runBatch's
 * summary and the gateway's JobStats: fixed memory whatever the run's length, 3 significant digits.
 * The HDR histogram takes integers ≥ 1, so values are kept in whole microseconds (a 0 ms latency counts
 * as 1 µs).
 */
export class LatencyHistogram {
  readonly #micros: RecordableHistogram = createHistogram();

  record(ms: number): void {
    this.#micros.record(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.#micros.count;
  }

  /** 0 when nothing was recorded (the HDR histogram says NaN). */
  get mean(): number {
    return this.#micros.count === 0 ? 0 : this.#micros.mean / 1000;
  }

  get max(): number {
    return this.#micros.count === 0 ? 0 : this.#micros.max / 1000;
  }

  /** The nearest-rank value at quantile q in [0, 1] (the ⌈q·n⌉-th smallest); 0 when nothing was recorded. */
  quantile(q: number): number {
    const n = this.#micros.count;
    if (n === 0) return 0;
    // HDR rounds q·n to the nearest rank; asking for exactly k/n picks rank k, so small runs keep the
    // nearest-rank answer (p90 of 7 values is the 7th, not the 6th).
    const rank = Math.max(1, Math.ceil(Math.min(q, 1) * n));
    return this.#micros.percentile((rank / n) * 100) / 1000;
  }
}
