/** Live counters, passed to `onProgress` and returned (final) in {@link RunSummary}. */
export interface RunProgress {
  /** Items pulled from the source. */
  readonly read: number;
  /** Results accepted by the sink. */
  readonly written: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Attempts beyond the first, over all items. */
  readonly retries: number;
  /** Retries after an ambiguous failure (Dify may have run the call already: possibly paid twice). */
  readonly ambiguousRetries: number;
  /** Calls in flight right now. */
  readonly inFlight: number;
  readonly elapsedMs: number;
}

/** What `runBatch` resolves with. */
export interface RunSummary extends RunProgress {
  /** Results per second over the whole run. */
  readonly throughputPerSec: number;
  /** Per-item latency (first attempt start → final outcome, backoff included), in ms. */
  readonly latencyMs: {
    readonly mean: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  /** Highest number of items between "read" and "written" seen during the run (≤ window). */
  readonly peakOutstanding: number;
  /** With `adaptiveConcurrency`: the limit at the end of the run. */
  readonly concurrencyLimit?: number;
  /** With `adaptiveConcurrency`: how many times rate limits cut the limit. */
  readonly concurrencyDecreases?: number;
}
