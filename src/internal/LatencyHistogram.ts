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

  /** The value at quantile q in [0, 1]; 0 when nothing was recorded. */
  quantile(q: number): number {
    if (this.#micros.count === 0) return 0;
    // percentile() takes (0, 100]; q = 0 asks for the smallest value.
    return q <= 0 ? this.#micros.min / 1000 : this.#micros.percentile(Math.min(q, 1) * 100) / 1000;
  }
}
