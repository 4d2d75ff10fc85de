/**
 * `error.retryable === true`: the default retry predicate. DifyApiError sets it per dify-api.md §5
 * (network errors, timeouts, 429, 500/502/503/504, Dify's app concurrency limit).
 *
 * @example
 * ```ts
 * import { DifyApiError, isRetryable } from 'dify-batch';
 *
 * console.log(isRetryable(new DifyApiError({ code: 'ERR_DIFY_HTTP', message: 'HTTP 503', status: 503, retryable: true })));
 * // Output:
 * // true
 * ```
 * @category client
 */
export function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}
