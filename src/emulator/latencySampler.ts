import type { LatencyDistribution } from './EmulatorOptions.js';
import type { SeededRandom } from './SeededRandom.js';

// z-score of the 99th percentile of the standard normal distribution.
const Z_99 = 2.3263478740408408;

/**
 * A function that draws one latency (ms) from the distribution, or `undefined` when every draw is 0,
 * so the server can answer synchronously without touching a timer.
 */
export function latencySampler(
  latency: LatencyDistribution,
  random: SeededRandom,
): (() => number) | undefined {
  switch (latency.kind) {
    case 'fixed': {
      const ms = latency.ms;
      return ms === 0 ? undefined : () => ms;
    }
    case 'uniform': {
      const { minMs, maxMs } = latency;
      if (maxMs === 0) return undefined;
      return () => minMs + random.next() * (maxMs - minMs);
    }
    case 'lognormal': {
      // Fitted so that the median is p50Ms and the 99th percentile is p99Ms.
      const mu = Math.log(latency.p50Ms);
      const sigma = (Math.log(latency.p99Ms) - mu) / Z_99;
      return () => Math.exp(mu + sigma * random.normal());
    }
  }
}
