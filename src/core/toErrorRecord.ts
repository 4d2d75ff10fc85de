import { DifyApiError } from './DifyApiError.js';
import { DifyBatchError } from './DifyBatchError.js';
import type { ErrorRecord } from './Item.js';
import { redactSecrets } from './redactSecrets.js';

/**
 * Turns anything thrown into the plain record a result carries. Unknown throws become `ERR_INTERNAL`;
 * messages are redacted again in case a user callback put a key in one.
 * @category errors
 */
export function toErrorRecord(error: unknown): ErrorRecord {
  if (error instanceof DifyApiError) {
    return {
      code: error.code,
      message: redactSecrets(error.message),
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.difyCode === undefined ? {} : { difyCode: error.difyCode }),
      retryable: error.retryable,
    };
  }
  if (error instanceof DifyBatchError) {
    return { code: error.code, message: redactSecrets(error.message), retryable: error.retryable };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'ERR_INTERNAL', message: redactSecrets(message), retryable: false };
}
