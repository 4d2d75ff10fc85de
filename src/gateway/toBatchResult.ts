import { DifyApiError } from '../core/DifyApiError.js';
import { redactSecrets } from '../core/redactSecrets.js';
import type { DifyAppKind } from '../dify/DifyRequest.js';
import type { RetryOutcome } from '../operators/retryBackoff.js';
import type { UpstreamBody } from './UpstreamClient.js';

/** One element's result in a batch response, at `results[i]` for `inputs[i]`. */
export type BatchResult =
  | { readonly status: number; readonly data: UpstreamBody; readonly error?: undefined }
  | {
      readonly status: number;
      readonly error: { readonly code: string; readonly message: string };
      /** Only for a workflow that ran and failed: Dify's body, which says why. */
      readonly data?: UpstreamBody;
    };

/**
 * Turns an upstream outcome into a {@link BatchResult}.
 *
 * @remarks
 * - Success: `{ status: 200, data: <Dify's body> }`.
 * - A workflow that ran and finished `failed` or `stopped` (HTTP 200) fails with code
 *   `workflow_run_failed`, Dify's `data.error` as the message, and Dify's body as `data`.
 * - An HTTP error keeps Dify's status, `code` (our `ERR_*` code when the body had none, as an HTML 502)
 *   and `message`; an error without a status (network, timeout) becomes 502, or 504 for a timeout.
 */
export function toBatchResult(app: DifyAppKind, outcome: RetryOutcome<UpstreamBody>): BatchResult {
  if (outcome.ok) {
    const body = outcome.value;
    const data = body.data as { status?: unknown; error?: unknown } | undefined;
    if (app === 'workflow' && (data?.status === 'failed' || data?.status === 'stopped')) {
      const message =
        typeof data.error === 'string' && data.error !== ''
          ? data.error
          : `the workflow run finished with status "${String(data.status)}"`;
      return {
        status: 200,
        error: { code: 'workflow_run_failed', message: redactSecrets(message) },
        data: body,
      };
    }
    return { status: 200, data: body };
  }
  const error = outcome.error;
  if (error instanceof DifyApiError) {
    const status = error.status ?? (error.code === 'ERR_DIFY_TIMEOUT' ? 504 : 502);
    const code = error.difyCode ?? error.code;
    return { status, error: { code, message: error.message } };
  }
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  return { status: 500, error: { code: 'ERR_INTERNAL', message } };
}
