import { DifyApiError } from '../core/DifyApiError.js';
import type { DifyAppKind, DifyResult } from './DifyRequest.js';
import { isFailedRunStatus } from './isFailedRunStatus.js';

type Json = Record<string, unknown>;

/**
 * Builds the {@link DifyResult} from a blocking body or from the terminal SSE event, which share their
 * shape (dify-api.md §3, §4): a workflow body and `workflow_finished` are both
 * `{ workflow_run_id, task_id, data: { status, outputs, error, … } }`; a completion/chat body and
 * `message_end` both carry `task_id`, `message_id`, `conversation_id`, `metadata.usage`.
 *
 * @param streamed - Streaming only: the concatenated answer (completion/chat) or `text_chunk` texts
 *   (workflow; used only when `workflow_finished` has no `outputs` object).
 * @throws DifyApiError `ERR_DIFY_RUN_FAILED` (final) when a workflow ran and ended `failed`, `stopped`
 *   or `paused` (human input, which a batch cannot give); the message is Dify's `error` text.
 */
export function toDifyResult(
  app: DifyAppKind,
  body: Json,
  scrub: (text: string) => string,
  streamed?: string,
): DifyResult {
  if (app === 'workflow') {
    const data = object(body.data);
    const status = string(data.status);
    if (isFailedRunStatus(status)) throw runFailed(data, status!, scrub);
    const outputs = isObject(data.outputs) ? data.outputs : streamed ? { text: streamed } : {};
    return compact({
      outputs,
      workflowRunId: string(body.workflow_run_id) ?? string(data.id),
      taskId: string(body.task_id),
      status,
      elapsedTime: number(data.elapsed_time),
      totalTokens: number(data.total_tokens),
    });
  }
  const usage = object(object(body.metadata).usage);
  return compact({
    outputs: { answer: streamed ?? string(body.answer) ?? '' },
    taskId: string(body.task_id),
    messageId: string(body.message_id) ?? string(body.id),
    conversationId: app === 'chat' ? string(body.conversation_id) : undefined,
    elapsedTime: number(usage.latency),
    totalTokens: number(usage.total_tokens),
  });
}

/** A run that Dify finished without success: retrying would run (and bill) it again, so it is final. */
export function runFailed(data: Json, status: string, scrub: (text: string) => string): DifyApiError {
  const error = string(data.error);
  const message =
    status === 'paused'
      ? 'Workflow run paused waiting for human input; a batch call cannot resume it'
      : (error ?? `Workflow run ${status}`);
  return new DifyApiError({ code: 'ERR_DIFY_RUN_FAILED', message: scrub(message), retryable: false });
}

/**
 * Drops undefined fields. Copies into a fresh literal rather than `delete`-ing, which would turn the
 * result into a slow dictionary-mode object for everything that reads it afterwards (once per call).
 */
function compact<T extends object>(value: T): T {
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in record) if (record[key] !== undefined) out[key] = record[key];
  return out as T;
}

/** Parses text that should be one JSON object; `undefined` when it is not. */
export function tryParseObject(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses a body or SSE event that Dify always sends as one JSON object.
 * @throws DifyApiError `ERR_DIFY_BAD_RESPONSE` (final) quoting the start of the text.
 */
export function parseJsonObject(
  text: string,
  what: string,
  scrub: (text: string) => string,
  status?: number,
): Json {
  const value = tryParseObject(text);
  if (value !== undefined) return value;
  const message = scrub(`${what} is not a JSON object: ${JSON.stringify(text.slice(0, 80))}`);
  throw new DifyApiError({ code: 'ERR_DIFY_BAD_RESPONSE', message, status, retryable: false });
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function object(value: unknown): Json {
  return isObject(value) ? value : {};
}

export function string(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
