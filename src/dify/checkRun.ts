import { DifyApiError } from '../core/DifyApiError.js';
import type { DifyResult } from './DifyRequest.js';
import { isFailedRunStatus } from './isFailedRunStatus.js';

/**
 * A run that ended without its outputs ({@link isFailedRunStatus}: `failed`, `stopped`, `paused`) is a
 * failure, whatever transport reported it: returns the `ERR_DIFY_RUN_FAILED` error (not retryable: the
 * workflow ran, and running it again costs as much), or `undefined` for a run that produced its outputs.
 * @internal
 */
export function checkRun(result: DifyResult): DifyApiError | undefined {
  if (!isFailedRunStatus(result.status)) return undefined;
  const run =
    result.workflowRunId === undefined ? 'the workflow run' : `workflow run ${result.workflowRunId}`;
  return new DifyApiError({
    code: 'ERR_DIFY_RUN_FAILED',
    message: `${run} finished with status "${result.status}"`,
    retryable: false,
  });
}
