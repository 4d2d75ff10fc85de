import pRetry from 'p-retry';

/** How a sink retries one delivery (a produce, a POST). */
export interface DeliveryRetry {
  /** Attempts per batch, the first included. */
  readonly maxAttempts: number;
  /** Backoff before the second attempt; doubles each time (with jitter). */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Runs `deliver` until it resolves, retrying with exponential backoff and jitter (p-retry) while
 * `isRetryable(error)` says so and attempts remain; rejects with the last error otherwise, or with
 * `signal.reason` on abort. Used by toKafka, toKafkaDeadLetter and toHttp.
 */
export function deliverWithRetry(
  deliver: (attempt: number) => Promise<void>,
  retry: DeliveryRetry,
  isRetryable: (error: unknown) => boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  return pRetry(deliver, {
    retries: retry.maxAttempts - 1,
    minTimeout: retry.minDelayMs,
    maxTimeout: retry.maxDelayMs,
    factor: 2,
    randomize: true,
    shouldRetry: ({ error }) => isRetryable(error),
    ...(signal === undefined ? {} : { signal }),
  });
}
