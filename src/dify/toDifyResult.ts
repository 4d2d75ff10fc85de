import { DifyApiError } from '../core/DifyApiError.js';
import type { Mutable } from '../internal/Mutable.js';
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
    const result: Mutable<DifyResult> = { outputs };
    set(result, 'workflowRunId', string(body.workflow_run_id) ?? string(data.id));
    set(result, 'taskId', string(body.task_id));
    set(result, 'status', status);
    set(result, 'elapsedTime', number(data.elapsed_time));
    set(result, 'totalTokens', number(data.total_tokens));
    return result;
  }
  const usage = object(object(body.metadata).usage);
  const result: Mutable<DifyResult> = { outputs: { answer: streamed ?? string(body.answer) ?? '' } };
  set(result, 'taskId', string(body.task_id));
  set(result, 'messageId', string(body.message_id) ?? string(body.id));
  if (app === 'chat') set(result, 'conversationId', string(body.conversation_id));
  set(result, 'elapsedTime', number(usage.latency));
  set(result, 'totalTokens', number(usage.total_tokens));
  return result;
}

/**
 * Sets a field only when it has a value: a result has no `undefined` fields. Assigned in a fixed
 * order onto one literal (no intermediate object to copy, and no `delete`, which would turn the result
 * into a slow dictionary-mode object for everything that reads it afterwards).
 */
function set<K extends keyof DifyResult>(result: Mutable<DifyResult>, key: K, value: DifyResult[K]): void {
  if (value !== undefined) result[key] = value;
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
