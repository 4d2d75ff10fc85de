/**
 * Workflow run statuses that end a call without its outputs (dify-api.md §3, the `status` enum):
 * `failed` (a node failed; HTTP 200 all the same), `stopped` (stopped through the stop route) and
 * `paused` (since Dify 1.15 a run waiting for human input answers a blocking call with
 * `status: "paused"`, `outputs: {}`, and a stream ends with `workflow_paused`; a batch has no human
 * to answer, so the record gets no outputs). `succeeded` and `partial-succeeded` carry outputs.
 * @category client
 */
export const FAILED_RUN_STATUSES: ReadonlySet<string> = new Set(['failed', 'stopped', 'paused']);

/**
 * Whether a workflow run `status` means the run ended without its outputs — the one definition used
 * by the client (blocking bodies and terminal SSE events) and by `callDify` (results from any
 * transport), so a `paused` run is an `ERR_DIFY_RUN_FAILED` failure whichever layer sees it.
 * It is final, never retried: another call would run (and bill) the workflow again.
 *
 * @param status - `data.status` of a blocking body, `workflow_finished` or `workflow_paused`.
 * @returns `true` for `failed`, `stopped` and `paused`; `false` for anything else, `undefined` included.
 * @example
 * ```ts
 * import { isFailedRunStatus } from 'dify-batch';
 *
 * console.log(isFailedRunStatus('paused'), isFailedRunStatus('partial-succeeded'));
 * // Output:
 * // true false
 * ```
 * @since 0.1.0
 * @category client
 */
export function isFailedRunStatus(status: string | undefined): boolean {
  return status !== undefined && FAILED_RUN_STATUSES.has(status);
}
