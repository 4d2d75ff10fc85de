/** Sizes of every scenario. `--quick` runs the same scenarios smaller (whole run under 3 minutes). */
export interface BenchParams {
  readonly mode: 'full' | 'quick';
  /** Bytes of `inputs.text` per record (lines are ~this + 40 bytes). */
  readonly payloadBytes: number;
  readonly overhead: { readonly count: number; readonly concurrency: number };
  readonly httpCeiling: { readonly count: number; readonly concurrency: number };
  readonly littlesLaw: {
    readonly latencyMs: number;
    readonly concurrencies: readonly number[];
    /** Items per run = concurrency × rounds, so each run lasts ~rounds × latency. */
    readonly rounds: number;
    /** Run p-map+dify-client and naive-chunks too (full run only, to keep quick under 3 minutes). */
    readonly allBaselines: boolean;
  };
  readonly headOfLine: {
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly concurrency: number;
    readonly count: number;
    /** Items for the two slowest baselines (Run Batch at 5, naive barrier): same mix, fewer items. */
    readonly slowBaselineCount: number;
  };
  readonly rateLimit: {
    readonly rps: number;
    readonly count: number;
    readonly concurrency: number;
    readonly latencyMs: number;
  };
  readonly memory: {
    readonly count: number;
    readonly concurrency: number;
    readonly sinkItemsPerSecond: number;
  };
}

export const FULL_PARAMS: BenchParams = Object.freeze({
  mode: 'full',
  payloadBytes: 200,
  overhead: { count: 1_000_000, concurrency: 64 },
  httpCeiling: { count: 100_000, concurrency: 32 },
  littlesLaw: {
    latencyMs: 50,
    concurrencies: [8, 16, 32, 64, 128, 256, 512],
    rounds: 60,
    allBaselines: true,
  },
  headOfLine: { p50Ms: 200, p99Ms: 3000, concurrency: 16, count: 1000, slowBaselineCount: 300 },
  rateLimit: { rps: 50, count: 1500, concurrency: 16, latencyMs: 50 },
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
  overhead: { count: 100_000, concurrency: 64 },
  httpCeiling: { count: 4000, concurrency: 32 },
  littlesLaw: { latencyMs: 50, concurrencies: [16, 64, 256], rounds: 20, allBaselines: false },
  headOfLine: { p50Ms: 50, p99Ms: 750, concurrency: 16, count: 300, slowBaselineCount: 150 },
  rateLimit: { rps: 100, count: 300, concurrency: 16, latencyMs: 50 },
  memory: { count: 200_000, concurrency: 64, sinkItemsPerSecond: 50_000 },
});
