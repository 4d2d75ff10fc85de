import { pyFloat, pyString } from './pyJson.js';

/**
 * Builders of the completion and chat bodies and SSE events, key for key in Dify's order
 * (`docs/dify-api.md` §3, §4). Used by `EmulatorServer`.
 */

/** The ids of one emulated completion or chat message. */
export interface MessageView {
  readonly mode: 'completion' | 'chat';
  readonly taskId: string;
  readonly messageId: string;
  /** Chat only. */
  readonly conversationId: string | undefined;
  /** Unix seconds. */
  readonly createdAt: number;
}

/** Token counts and the model latency reported in `metadata.usage`. */
export interface MessageUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly latencySeconds: number;
}

/** `metadata` with `usage`; prices are strings (Decimal), the emulated model is free. */
function metadata(u: MessageUsage, py: boolean): string {
  const c = py ? ', ' : ',';
  const k = py ? ': ' : ':';
  const fields: [string, string][] = [
    ['prompt_tokens', String(u.promptTokens)],
    ['prompt_unit_price', '"0"'],
    ['prompt_price_unit', '"0.001"'],
    ['prompt_price', '"0"'],
    ['completion_tokens', String(u.completionTokens)],
    ['completion_unit_price', '"0"'],
    ['completion_price_unit', '"0.001"'],
    ['completion_price', '"0"'],
    ['total_tokens', String(u.promptTokens + u.completionTokens)],
    ['total_price', '"0"'],
    ['currency', '"USD"'],
    ['latency', pyFloat(u.latencySeconds)],
    ['time_to_first_token', 'null'],
    ['time_to_generate', 'null'],
  ];
  const usage = fields.map(([name, value]) => `"${name}"${k}${value}`).join(c);
  return `{"annotation_reply"${k}null${c}"retriever_resources"${k}[]${c}"usage"${k}{${usage}}}`;
}

/** `POST /completion-messages` or `/chat-messages` blocking body. */
export function messageBlockingBody(v: MessageView, answer: string, usage: MessageUsage): string {
  const conversation = v.conversationId === undefined ? '' : `"conversation_id": "${v.conversationId}", `;
  return (
    `{"event": "message", "task_id": "${v.taskId}", "id": "${v.messageId}", "message_id": "${v.messageId}", ` +
    `${conversation}"mode": "${v.mode}", "answer": ${pyString(answer)}, "metadata": ${metadata(usage, true)}, ` +
    `"created_at": ${v.createdAt}}`
  );
}

/** The keys every message-based event starts with. */
function head(name: string, v: MessageView): string {
  const conversation = v.conversationId === undefined ? '' : `"conversation_id":"${v.conversationId}",`;
  return `data: {"event":"${name}",${conversation}"message_id":"${v.messageId}","created_at":${v.createdAt}`;
}

/** One `message` chunk; the chunks' answers concatenate to the full answer. */
export function messageChunk(v: MessageView, piece: string): string {
  return `${head('message', v)},"task_id":"${v.taskId}","id":"${v.messageId}","answer":${JSON.stringify(piece)},"from_variable_selector":null}\n\n`;
}

/** `message_end` (terminal). */
export function messageEnd(v: MessageView, usage: MessageUsage): string {
  return `${head('message_end', v)},"task_id":"${v.taskId}","id":"${v.messageId}","metadata":${metadata(usage, false)},"files":null}\n\n`;
}

/** An `error` event; for completion and chat Dify closes the stream right after it. */
export function messageErrorEvent(v: MessageView, code: string, status: number, message: string): string {
  return `${head('error', v)},"code":"${code}","status":${status},"message":${JSON.stringify(message)}}\n\n`;
}

/** Rough token count (4 characters a token) for `usage`. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
