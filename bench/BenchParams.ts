/** Sizes of every scenario. `--quick` runs the same scenarios smaller (about 6 minutes on 2 shared cores). */
export interface BenchParams {
  readonly mode: 'full' | 'quick';
  /** Bytes of `inputs.text` per record (lines are ~this + 40 bytes). */
  readonly payloadBytes: number;
  /**
   * Runs per contender in overhead and http-ceiling, interleaved (A B C A B C …): a single run of a
   * 1-second scenario swings ±10 % on 2 shared cores, so their rows report the median, with min–max.
   */
  readonly repeats: number;
  readonly overhead: { readonly count: number; readonly concurrency: number };
  readonly httpCeiling: {
    readonly count: number;
    readonly concurrency: number;
    /**
     * Untimed records each Node contender processes first (ContenderSpec.warmup): a fresh process spends
     * its first ~10,000 requests warming V8's JIT at 2–4 × the CPU per request of a warm one.
     */
    readonly warmup: number;
  };
  readonly littlesLaw: {
    readonly latencyMs: number;
    readonly concurrencies: readonly number[];
    /** Items per run = concurrency × rounds, so each run lasts ~rounds × latency. */
    readonly rounds: number;
    /** Run p-map+dify-client and naive-chunks too (full run only, to keep quick short). */
    readonly allBaselines: boolean;
    /** Runs per contender at each c, interleaved; rows are medians. The Python anchor runs once (minutes at high c). */
    readonly repeats: number;
    /** Untimed records each Node contender processes first, at 0 ms latency (see httpCeiling.warmup). */
    readonly warmup: number;
  };
  readonly headOfLine: {
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly concurrency: number;
    readonly count: number;
    /** Runs of each windowed contender (dify-batch, Readable.map), interleaved; rows are medians. */
    readonly repeats: number;
  };
  readonly rateLimit: {
    readonly rps: number;
    readonly count: number;
    readonly concurrency: number;
    readonly latencyMs: number;
    /**
     * Runs of each contender a peer comparison reads (dify-batch unordered told and not told the quota,
     * Benthos, the Python anchor), interleaved; rows are medians. A run is decided by backoff tails.
     */
    readonly repeats: number;
  };
  /** Dify's app concurrency limit (400 `invalid_param` "Too many requests."), a client at a higher c. */
  readonly concurrencyLimit: {
    readonly limit: number;
    readonly concurrency: number;
    readonly count: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
  };
  readonly memory: {
    readonly count: number;
    readonly concurrency: number;
    readonly sinkItemsPerSecond: number;
  };
}

/**
 * The full run takes ~25–30 min on 2 cores (`npm run bench -- --estimate`: 29 min at the rates of a quick
 * run on a loaded machine; the estimate errs long). Sizes cut on 2026-11-30 from an estimated 96 min: http-ceiling 100k → 10k requests per run (it now runs 5 × interleaved; the Python
 * anchor does ~300 req/s), Little's law 60 → 30 rounds (the Python anchor is CPU-bound at ~100 req/s from
 * c = 64), head-of-line 1,000 → 500 (the barrier baselines take minutes), rate limit 1,500 → 750,
 * concurrency limit 600 → 300.
 */
export const FULL_PARAMS: BenchParams = Object.freeze({
  mode: 'full',
  payloadBytes: 200,
  repeats: 5,
  overhead: { count: 1_000_000, concurrency: 64 },
  httpCeiling: { count: 10_000, concurrency: 32, warmup: 20_000 },
  littlesLaw: {
    latencyMs: 50,
    concurrencies: [8, 16, 32, 64, 128, 256, 512],
    rounds: 30,
    allBaselines: true,
    repeats: 3,
    warmup: 15_000,
  },
  headOfLine: { p50Ms: 200, p99Ms: 3000, concurrency: 16, count: 500, repeats: 3 },
  rateLimit: { rps: 50, count: 750, concurrency: 16, latencyMs: 50, repeats: 3 },
  concurrencyLimit: { limit: 4, concurrency: 32, count: 300, p50Ms: 200, p99Ms: 3000 },
  memory: { count: 5_000_000, concurrency: 64, sinkItemsPerSecond: 100_000 },
});

/**
 * Quick mode keeps every ratio meaningful: the log-normal mix is scaled by 1/4 (p50 50 ms, p99 750 ms),
 * which leaves ordered/unordered and barrier ratios unchanged, and the rate-limit R is doubled. Little's law
 * skips the p-map and naive baselines (they are in the full run's plot).
 */
export const QUICK_PARAMS: BenchParams = Object.freeze({
  mode: 'quick',
  payloadBytes: 200,
  repeats: 3,
  overhead: { count: 100_000, concurrency: 64 },
  httpCeiling: { count: 4000, concurrency: 32, warmup: 8000 },
  littlesLaw: {
    latencyMs: 50,
    concurrencies: [16, 64, 256],
    rounds: 20,
    allBaselines: false,
    repeats: 1,
    warmup: 8000,
  },
  headOfLine: { p50Ms: 50, p99Ms: 750, concurrency: 16, count: 300, repeats: 1 },
  rateLimit: { rps: 100, count: 300, concurrency: 16, latencyMs: 50, repeats: 1 },
  concurrencyLimit: { limit: 4, concurrency: 32, count: 200, p50Ms: 50, p99Ms: 750 },
  memory: { count: 200_000, concurrency: 64, sinkItemsPerSecond: 50_000 },
});
