/** The fields a Dify error answer (or a {@link DifyApiError}) carries. */
export interface DifyErrorFields {
  readonly status?: number | undefined;
  /** Dify's `code` field. */
  readonly difyCode?: string | undefined;
  readonly message?: string | undefined;
}

/** The prefix of `AppInvokeQuotaExceededError`'s message (dify-api.md §5). */
const CONCURRENCY_LIMIT_PREFIX = 'Too many requests.';

/**
 * Whether an error answer is Dify's app concurrency limit (`max_active_requests`).
 *
 * @remarks
 * Dify raises it as a `ValueError` subclass, so its code path answers **400 `invalid_param`**, while its
 * docs say **429 `too_many_requests`** (dify-api.md §5). Both carry a message starting
 * `Too many requests.`; both are retryable. Works on a raw `{ status, difyCode, message }` and on a
 * {@link DifyApiError} alike.
 * @example
 * ```ts
 * isConcurrencyLimitError({ status: 400, difyCode: 'invalid_param', message: 'Too many requests. Please try again later.' });
 * // Output: true
 * ```
 * @since 0.1.0
 * @category client
 */
export function isConcurrencyLimitError(error: DifyErrorFields): boolean {
  const { status, difyCode, message } = error;
  const shaped =
    (status === 400 && difyCode === 'invalid_param') || (status === 429 && difyCode === 'too_many_requests');
  return shaped && typeof message === 'string' && message.startsWith(CONCURRENCY_LIMIT_PREFIX);
}
