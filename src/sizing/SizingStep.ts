/** What one concurrency step of `dify-batch bench` measured against the user's app. */
export interface SizingStep {
  /** Calls kept in flight during the step. */
  readonly concurrency: number;
  /** Calls sent (every outcome). */
  readonly calls: number;
  readonly succeeded: number;
  /** Refused by a limit: Dify's app concurrency limit (400/429 "Too many requests.") or a 429 quota. */
  readonly limitRejections: number;
  /** Of `limitRejections`, the 429s that are not the concurrency limit (a rate or billing quota). */
  readonly rateRejections: number;
  /** Any other failure (timeouts, 5xx, failed runs, bad input). */
  readonly failed: number;
  /** The first other failure's message (API key redacted by the client), for the printed table. */
  readonly firstFailure?: string;
  /** Succeeded calls per second of the step's wall time. */
  readonly throughput: number;
  /** Latency of the succeeded calls, ms; NaN when none succeeded. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly wallMs: number;
}

/** Limit rejections ÷ calls (0 for a step that made no call). */
export function rejectionShare(step: SizingStep): number {
  return step.calls === 0 ? 0 : step.limitRejections / step.calls;
}
