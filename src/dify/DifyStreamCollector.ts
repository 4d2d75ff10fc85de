import { DifyApiError } from '../core/DifyApiError.js';
import { classifyStatus } from './classifyResponse.js';
import type { DifyAppKind, DifyResult } from './DifyRequest.js';
import { isFailedRunStatus } from './isFailedRunStatus.js';
import { object, runFailed, string, toDifyResult } from './toDifyResult.js';

type Json = Record<string, unknown>;

/**
 * Folds the `data:` events of one Dify SSE stream into a {@link DifyResult} (dify-api.md §4).
 *
 * @remarks
 * - workflow: `text_chunk` texts are concatenated (`text_replace` replaces them); the result comes from
 *   `workflow_finished` (or `workflow_paused`).
 * - completion/chat: `message` and `agent_message` answers are concatenated, `message_replace` replaces
 *   the answer; the result comes at `message_end`. A chatflow (advanced-chat) also sends
 *   `workflow_started` … `workflow_finished` around its messages: then `workflow_finished` is the
 *   terminal event, so a failed chatflow fails the call and the stream is read to its end.
 * - `error` is terminal: Dify 1.13 publishes nothing after it and never closes the stream.
 */
export class DifyStreamCollector {
  readonly #app: DifyAppKind;
  readonly #scrub: (text: string) => string;
  #text = '';
  #isChatflow = false;
  #messageEnd: Json | undefined;
  /** IDs seen on message events, for a chatflow whose terminal event is `workflow_finished`. */
  #ids: Json = {};
  #workflowRunId: string | undefined;
  #taskId: string | undefined;

  constructor(app: DifyAppKind, scrub: (text: string) => string) {
    this.#app = app;
    this.#scrub = scrub;
  }

  /**
   * Takes one parsed event. Returns the result at the terminal event, `undefined` before it.
   * @throws DifyApiError at an `error` event or a failed run.
   */
  push(event: Json): DifyResult | undefined {
    const data = object(event.data);
    // Every workflow event carries both ids at the top level, message events `task_id`.
    if (this.#taskId === undefined) this.#taskId = string(event.task_id);
    if (this.#workflowRunId === undefined) this.#workflowRunId = string(event.workflow_run_id);
    switch (event.event) {
      case 'error':
        throw this.#errorEvent(event);
      case 'workflow_started':
        this.#isChatflow = this.#app !== 'workflow';
        return undefined;
      case 'text_chunk':
        if (this.#app === 'workflow') this.#text += string(data.text) ?? '';
        return undefined;
      case 'text_replace':
        if (this.#app === 'workflow') this.#text = string(data.text) ?? '';
        return undefined;
      case 'message':
      case 'agent_message':
        this.#text += string(event.answer) ?? '';
        // The collector owns #ids: merge in place instead of copying it on every chunk.
        Object.assign(this.#ids, event);
        return undefined;
      case 'message_replace':
        this.#text = string(event.answer) ?? '';
        return undefined;
      case 'message_end':
        if (this.#app === 'workflow') return undefined;
        if (!this.#isChatflow)
          return toDifyResult(this.#app, { ...this.#ids, ...event }, this.#scrub, this.#text);
        this.#messageEnd = event;
        return undefined;
      case 'workflow_finished':
      case 'workflow_paused':
        return this.#workflowEnd(event, data);
      default:
        return undefined;
    }
  }

  /** The `workflow_run_id` and `task_id` seen so far, to recover a run whose stream broke. */
  get ids(): { readonly workflowRunId: string | undefined; readonly taskId: string | undefined } {
    return { workflowRunId: this.#workflowRunId, taskId: this.#taskId };
  }

  #workflowEnd(event: Json, data: Json): DifyResult {
    const status = event.event === 'workflow_paused' ? 'paused' : string(data.status);
    if (this.#app === 'workflow') {
      return toDifyResult('workflow', { ...event, data: { ...data, status } }, this.#scrub, this.#text);
    }
    if (isFailedRunStatus(status)) {
      throw runFailed(data, status!, this.#scrub);
    }
    return toDifyResult(this.#app, { ...this.#ids, ...this.#messageEnd }, this.#scrub, this.#text);
  }

  #errorEvent(event: Json): DifyApiError {
    // An error event has no task_id; its status is the one Dify would have answered with.
    const status = typeof event.status === 'number' ? event.status : 500;
    const difyCode = string(event.code);
    const message = string(event.message) ?? 'Dify sent an error event';
    return new DifyApiError({
      ...classifyStatus(status, difyCode, message),
      message: this.#scrub(message),
      status,
      difyCode,
    });
  }
}
