import { DifyApiError } from '../core/DifyApiError.js';
import { concurrencyLimitOf } from '../dify/concurrencyLimitOf.js';
import type { CallOutcome } from './AdaptiveConcurrency.js';

/**
 * What a failed attempt tells the adaptive limit: a run that failed still got served. Dify's
 * concurrency limit refusing a *streaming* workflow call says nothing about capacity: Dify frees a
 * streaming run's slot before its stream starts, so the limit never bounds streaming runs, while the
 * refusal comes whenever others hold N-1 slots for an instant (dify-api.md §5). Shrinking on it halved
 * throughput against real Dify 1.13.2 (issue 11); such a refusal is retried without shrinking.
 */
export function adaptiveOutcomeOf(error: unknown, request: { readonly responseMode?: string }): CallOutcome {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_DIFY_RATE_LIMITED') {
    const streamingLimit =
      request.responseMode === 'streaming' &&
      error instanceof DifyApiError &&
      concurrencyLimitOf(error) !== undefined;
    return streamingLimit ? 'other' : 'rate-limited';
  }
  return code === 'ERR_DIFY_RUN_FAILED' ? 'ok' : 'other';
}
