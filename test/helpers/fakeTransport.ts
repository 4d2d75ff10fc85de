import { DifyApiError } from '../../src/core/DifyApiError.js';
import type { DifyRequest, DifyResult, DifyTransport } from '../../src/dify/DifyRequest.js';

/** What a fake call does on a given attempt of a given input. */
export type FakeBehaviour = { readonly delayMs: number; readonly fail?: 'retryable' | 'final' };

/**
 * An in-process DifyTransport: answers `{ echo: inputs.n }` after a delay, or fails as scripted.
 * Counts in-flight calls and the peak, so tests can check the concurrency cap.
 */
export function fakeTransport(behave: (request: DifyRequest, attempt: number) => FakeBehaviour) {
  const attempts = new Map<string, number>();
  const stats = { inFlight: 0, peakInFlight: 0, calls: 0 };
  const transport: DifyTransport = (request, { signal }) => {
    const key = JSON.stringify(request.inputs);
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const { delayMs, fail } = behave(request, attempt);
    stats.calls++;
    stats.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    return new Promise<DifyResult>((resolve, reject) => {
      const done = (): void => {
        stats.inFlight--;
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        done();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        done();
        if (fail === undefined) resolve({ outputs: { echo: request.inputs.n } });
        else
          reject(
            new DifyApiError({
              code: 'ERR_DIFY_HTTP',
              status: fail === 'retryable' ? 503 : 400,
              message: fail === 'retryable' ? 'Service Unavailable' : 'bad input',
              retryable: fail === 'retryable',
            }),
          );
      }, delayMs);
    });
  };
  return { transport, stats };
}

/** Records `{ n: 0 }, { n: 1 }, …` as an async iterable that counts how many were pulled. */
export function countingRecords(count: number) {
  const state = { pulled: 0 };
  async function* records(): AsyncGenerator<Record<string, unknown>> {
    for (let n = 0; n < count; n++) {
      state.pulled++;
      yield { n };
    }
  }
  return { records: records(), state };
}
