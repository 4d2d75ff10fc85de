import { setMaxListeners } from 'node:events';
import { createHistogram } from 'node:perf_hooks';
import { DifyApiError } from '../core/DifyApiError.js';
import type { DifyRequest, DifyTransport } from '../dify/DifyRequest.js';
import { isConcurrencyLimitError } from '../dify/isConcurrencyLimitError.js';
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
  // Microseconds: createHistogram records integers ≥ 1.
  const latencyUs = createHistogram();
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
        latencyUs.record(Math.max(1, Math.round((performance.now() - started) * 1000)));
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
  const percentile = (p: number): number => (succeeded === 0 ? Number.NaN : latencyUs.percentile(p) / 1000);
  return {
    concurrency,
    calls,
    succeeded,
    limitRejections,
    rateRejections,
    failed,
    ...(firstFailure === undefined ? {} : { firstFailure }),
    throughput: wallMs > 0 ? succeeded / (wallMs / 1000) : 0,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    wallMs,
  };
}
