import type { DifyErrorFields } from './isConcurrencyLimitError.js';
import { isConcurrencyLimitError } from './isConcurrencyLimitError.js';

// "… The current maximum concurrent requests allowed for {app_id} is {N}." (dify-api.md §5)
const LIMIT_PATTERN = /allowed for \S+ is (\d+)\.?\s*$/;

/**
 * The app's concurrency limit N that Dify states in its concurrency-limit answer, or `undefined` for
 * any other error (or a message without the number). Lets adaptive concurrency settle on N at once
 * instead of probing above it over and over.
 * @example
 * ```ts
 * concurrencyLimitOf({
 *   status: 400,
 *   difyCode: 'invalid_param',
 *   message: 'Too many requests. Please try again later. The current maximum concurrent requests allowed for 5a8f is 2.',
 * });
 * // Output: 2
 * ```
 * @since 0.1.0
 * @category client
 */
export function concurrencyLimitOf(error: DifyErrorFields): number | undefined {
  if (!isConcurrencyLimitError(error)) return undefined;
  const match = LIMIT_PATTERN.exec(error.message ?? '');
  const limit = match === null ? Number.NaN : Number(match[1]);
  return Number.isSafeInteger(limit) && limit >= 1 ? limit : undefined;
}
