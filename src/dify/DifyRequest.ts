/** The three Dify app kinds this client calls. */
export type DifyAppKind = 'workflow' | 'completion' | 'chat';

/** `blocking` waits for one JSON body; `streaming` reads SSE. Both give the same {@link DifyResult}. */
export type DifyResponseMode = 'blocking' | 'streaming';

/**
 * One call of a Dify app.
 * - workflow → `POST /workflows/run` (or `/workflows/{workflowId}/run`)
 * - completion → `POST /completion-messages`
 * - chat → `POST /chat-messages` (`query` required, `conversationId` optional)
 */
export interface DifyRequest {
  readonly app: DifyAppKind;
  readonly inputs: Record<string, unknown>;
  /** End-user identifier; Dify requires it on every run. */
  readonly user: string;
  readonly responseMode: DifyResponseMode;
  /** Chat: the user message (required). Completion: optional, defaults to `""` server-side. */
  readonly query?: string;
  /** Chat only: continue a conversation. */
  readonly conversationId?: string;
  /** Workflow only: run a specific published version. */
  readonly workflowId?: string;
  readonly files?: readonly unknown[];
}

/** The same shape whichever app kind and response mode produced it. */
export interface DifyResult {
  /** Workflow outputs, or `{ answer }` for completion and chat. */
  readonly outputs: Record<string, unknown>;
  readonly workflowRunId?: string;
  readonly taskId?: string;
  readonly messageId?: string;
  readonly conversationId?: string;
  /** Workflow run status (`succeeded`, `partial-succeeded`, …) when the app is a workflow. */
  readonly status?: string;
  /** Server-side elapsed time in seconds, when Dify reports it. */
  readonly elapsedTime?: number;
  readonly totalTokens?: number;
}

/** Per-call options. */
export interface DifyCallOptions {
  readonly signal?: AbortSignal;
  /**
   * Streaming workflow calls: told the `workflow_run_id` as soon as the `workflow_started` event
   * arrives, so that a crashed caller can poll `GET /workflows/run/{id}` instead of running it again.
   */
  readonly onWorkflowStarted?: (workflowRunId: string) => void;
}

/**
 * Anything that can run a Dify call. {@link DifyClient} is the real one; tests and benchmarks pass
 * an in-process function with the same shape.
 */
export type DifyTransport = (request: DifyRequest, options: DifyCallOptions) => Promise<DifyResult>;
