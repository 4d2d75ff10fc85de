import type { ErrorRecord } from './Item.js';

interface ResultBase {
  readonly seq: number;
  readonly id: string;
  /** Calls made for this item, retries included (0 when the item never reached Dify). */
  readonly attempts: number;
  /** From the first attempt's start to the final outcome, backoff included. */
  readonly latencyMs: number;
  /**
   * Retries after an ambiguous failure (the request was sent, the answer lost: Dify may have run it and
   * billed it twice). Present only when > 0.
   */
  readonly ambiguousRetries?: number;
}

/** A successful call. Completion and chat outputs are `{ answer }`; chat adds `conversationId`. */
export interface ItemSuccess<O = Record<string, unknown>> extends ResultBase {
  readonly ok: true;
  readonly outputs: O;
  readonly workflowRunId?: string;
  readonly taskId?: string;
  readonly messageId?: string;
  readonly conversationId?: string;
}

/** A final failure: retries exhausted, or an error that is not worth retrying. */
export interface ItemFailure extends ResultBase {
  readonly ok: false;
  readonly error: ErrorRecord;
}

/**
 * Exactly one per input item, never thrown, always JSON-serialisable.
 * @category operators
 */
export type ItemResult<O = Record<string, unknown>> = ItemSuccess<O> | ItemFailure;
