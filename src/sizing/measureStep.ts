import { setMaxListeners } from 'node:events';
import { DifyApiError } from '../core/DifyApiError.js';
import type { DifyRequest, DifyTransport } from '../dify/DifyRequest.js';
import { isConcurrencyLimitError } from '../dify/isConcurrencyLimitError.js';
import { LatencyHistogram } from '../internal/LatencyHistogram.js';
import type { SizingStep } from './SizingStep.js';

export interface MeasureStepOptions {
  /** Sends one call (a `DifyClient.transport`: no retries, so every rejection is seen). */
  readonly transport: DifyTransport;
  /** The sample's requests, sent in turn (cycling when the step needs more). */
  readonly requests: readonly DifyRequest[];
  readonly concurrency: number;
  /** The step ends once this many calls have been sent… */
  readonly maxCalls: number;
  /** …or this many ms have passed (calls in flight then still finish). */
  readonly durationMs: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Keeps `concurrency` calls in flight until the call budget or the time slice is spent, and classifies
 * every outcome: success (latency recorded), limit rejection, or other failure.
 * @throws the signal's reason when aborted
 */
export async function measureStep(options: MeasureStepOptions): Promise<SizingStep> {
  const { transport, requests, concurrency, maxCalls, durationMs, signal } = options;
  const latency = new LatencyHistogram();
  let calls = 0;
  let succeeded = 0;
  let limitRejections = 0;
  let rateRejections = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  // Every call in flight listens on the one signal; Node warns past 10 listeners.
  if (signal !== undefined) setMaxListeners(2 * concurrency + 16, signal);
  const t0 = performance.now();
  const deadline = t0 + durationMs;

  const worker = async (): Promise<void> => {
    while (calls < maxCalls && performance.now() < deadline) {
      signal?.throwIfAborted();
      const request = requests[calls % requests.length]!;
      calls++;
      const started = performance.now();
      try {
        await transport(request, signal === undefined ? {} : { signal });
        succeeded++;
        latency.record(performance.now() - started);
      } catch (error) {
        signal?.throwIfAborted();
        if (error instanceof DifyApiError && isConcurrencyLimitError(error)) limitRejections++;
        else if (error instanceof DifyApiError && error.status === 429) {
          limitRejections++;
          rateRejections++;
        } else {
          failed++;
          firstFailure ??= error instanceof Error ? error.message : String(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - t0;
  // NaN, not 0, for a step with no success: the chart leaves it out.
  const quantile = (q: number): number => (succeeded === 0 ? Number.NaN : latency.quantile(q));
  return {
    concurrency,
    calls,
    succeeded,
    limitRejections,
    rateRejections,
    failed,
    ...(firstFailure === undefined ? {} : { firstFailure }),
    throughput: wallMs > 0 ? succeeded / (wallMs / 1000) : 0,
    p50Ms: quantile(0.5),
    p99Ms: quantile(0.99),
    wallMs,
  };
}
