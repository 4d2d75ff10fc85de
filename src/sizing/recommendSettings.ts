import { rejectionShare, type SizingStep } from './SizingStep.js';

/** What `dify-batch bench` tells the user to pass to `run`. */
export interface SizingRecommendation {
  /** `--concurrency` for `run`; undefined when even one call at a time was refused. */
  readonly concurrency: number | undefined;
  /** `--rps` for `run`, only when a 429 quota was hit (a concurrency limit needs no rate cap). */
  readonly rps: number | undefined;
  /** One sentence on how the numbers were chosen. */
  readonly reason: string;
}

/** A step is clean when at most this share of its calls hit a limit or failed. */
const CLEAN_SHARE = 0.01;
/** The knee: the first clean step within this fraction of the best clean throughput. */
const KNEE_FRACTION = 0.9;

/**
 * Picks the knee of the curve: the smallest clean concurrency whose throughput is within 90 % of the best
 * clean step's. Past it, more concurrency buys little throughput and (against a limit) rejections.
 */
export function recommendSettings(steps: readonly SizingStep[]): SizingRecommendation {
  const clean = steps.filter(
    (step) =>
      step.succeeded > 0 && rejectionShare(step) <= CLEAN_SHARE && step.failed <= step.calls * CLEAN_SHARE,
  );
  if (clean.length === 0) {
    return {
      concurrency: undefined,
      rps: undefined,
      reason: 'no step ran clean (≤ 1 % rejected or failed): check the app, the key and the sample first',
    };
  }
  const best = Math.max(...clean.map((step) => step.throughput));
  const knee = clean.find((step) => step.throughput >= KNEE_FRACTION * best)!;
  const quotaHit = steps.some((step) => step.rateRejections > 0);
  // Two significant digits: `--rps` takes fractions, and a slow app may sustain well under 1 call/s.
  const rps = quotaHit ? Number((KNEE_FRACTION * best).toPrecision(2)) : undefined;
  const refused = steps.find(
    (step) => step.concurrency > knee.concurrency && rejectionShare(step) > CLEAN_SHARE,
  );
  const why =
    refused !== undefined
      ? `at c=${refused.concurrency} ${(100 * rejectionShare(refused)).toFixed(0)} % of calls were refused by a limit`
      : knee === steps.at(-1)
        ? 'throughput still grew at the last step: a larger --max-concurrency may find more'
        : 'higher concurrency added less than 10 % throughput';
  return {
    concurrency: knee.concurrency,
    rps,
    reason:
      `c=${knee.concurrency} reached ${knee.throughput.toFixed(1)} calls/s, ≥ 90 % of the best clean step (${best.toFixed(1)}/s); ${why}` +
      (rps === undefined ? '' : `; 429 quota answers seen, so --rps stays 10 % under the best goodput`),
  };
}
