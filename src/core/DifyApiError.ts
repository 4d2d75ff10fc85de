import { hasBrand } from '../internal/hasBrand.js';
import { DifyBatchError, type ErrorCode } from './DifyBatchError.js';
import { redactSecrets } from './redactSecrets.js';

/** What a failed call to Dify tells us, all of it safe to log. */
export interface DifyApiErrorInit {
  /** Our stable code, e.g. `ERR_DIFY_RATE_LIMITED`. */
  readonly code: ErrorCode;
  readonly message: string;
  /** HTTP status, when the server answered. */
  readonly status?: number | undefined;
  /** Dify's own `code` field (`invalid_param`, `too_many_requests`, …), when the body had one. */
  readonly difyCode?: string | undefined;
  readonly retryable: boolean;
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs?: number | undefined;
  /**
   * The call failed after the request was fully sent (no answer in time, reset after sending, a stream
   * cut mid-body): Dify may have run it, so a retry may be paid twice.
   */
  readonly ambiguous?: boolean | undefined;
  /** The `workflow_run_id` the client saw before the failure (a stream cut mid-run), for recovery. */
  readonly workflowRunId?: string | undefined;
  /** The `task_id` the client saw before the failure. */
  readonly taskId?: string | undefined;
  readonly cause?: unknown;
}

const kDifyApiError = Symbol.for('dify-batch.DifyApiError');

/**
 * Every failure of a Dify call: HTTP errors, network errors, timeouts, broken streams and runs that
 * finished with `status: "failed"`.
 *
 * @remarks
 * The message never contains the API key (it is redacted on construction, whatever the source).
 * `retryable` follows dify-api.md §5: network errors, timeouts, 429, 500/502/503/504 and the app
 * concurrency limit (400 `invalid_param` or 429, message starting `Too many requests.`).
 * @category errors
 */
export class DifyApiError extends DifyBatchError {
  readonly status: number | undefined;
  readonly difyCode: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** See {@link DifyApiErrorInit.ambiguous}. */
  readonly ambiguous: boolean;
  readonly workflowRunId: string | undefined;
  readonly taskId: string | undefined;

  constructor(init: DifyApiErrorInit) {
    super(init.code, redactSecrets(init.message), { retryable: init.retryable, cause: init.cause });
    this.name = 'DifyApiError';
    this.status = init.status;
    this.difyCode = init.difyCode;
    this.retryAfterMs = init.retryAfterMs;
    this.ambiguous = init.ambiguous === true;
    this.workflowRunId = init.workflowRunId;
    this.taskId = init.taskId;
  }

  /** A copy with `changes` applied: the error is immutable, and wrappers add what they learnt. */
  with(changes: Partial<DifyApiErrorInit>): DifyApiError {
    return new DifyApiError({
      code: this.code,
      message: this.message,
      status: this.status,
      difyCode: this.difyCode,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      ambiguous: this.ambiguous,
      workflowRunId: this.workflowRunId,
      taskId: this.taskId,
      cause: this.cause,
      ...changes,
    });
  }

  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` names, a subclass included.
    return hasBrand(this, DifyApiError, kDifyApiError, instance);
  }

  get [kDifyApiError](): true {
    return true;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.difyCode === undefined ? {} : { difyCode: this.difyCode }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.ambiguous ? { ambiguous: true } : {}),
      ...(this.workflowRunId === undefined ? {} : { workflowRunId: this.workflowRunId }),
      ...(this.taskId === undefined ? {} : { taskId: this.taskId }),
    };
  }
}
