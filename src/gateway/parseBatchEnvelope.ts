import type { DifyAppKind } from '../dify/DifyRequest.js';

/** A Dify-style error: `{ code, message, status }` (dify-api.md §1, "How error bodies are rendered"). */
export interface GatewayErrorBody {
  readonly code: string;
  readonly message: string;
  readonly status: number;
}

/** One element of the batch: the upstream body to send, or why it cannot be sent. */
export type BatchElement =
  | { readonly body: string; readonly error?: undefined }
  | { readonly body?: undefined; readonly error: { readonly code: string; readonly message: string } };

/** A parsed envelope, or the whole request's error (nothing is called then). */
export type ParsedEnvelope =
  | { readonly ok: true; readonly elements: readonly BatchElement[] }
  | { readonly ok: false; readonly error: GatewayErrorBody };

const invalid = (message: string): ParsedEnvelope => ({
  ok: false,
  error: { code: 'invalid_param', message, status: 400 },
});

/**
 * Reads `{ "inputs": [ {...}, ... ], "user": "...", "response_mode": "blocking" }` (design.md §5).
 *
 * @remarks
 * - The envelope is all or nothing: invalid JSON (400 `bad_request`, Dify's own message), no `inputs`
 *   array, no `user`, or a `response_mode` other than `blocking` (400 `invalid_param`) reject the request.
 * - Elements are judged one by one: an element that is not an object, or a chat element without a
 *   string `query`, becomes that element's own 400 result naming its index and field; the others run.
 * - Workflow: the element is the run's `inputs`. Completion and chat: the element's `query` field is the
 *   query and the other fields are `inputs`.
 * - `maxItems` is checked here too (413, before anything is called).
 */
export function parseBatchEnvelope(text: string, app: DifyAppKind, maxItems: number): ParsedEnvelope {
  let envelope: unknown;
  try {
    envelope = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    envelope = undefined;
  }
  if (envelope === undefined) {
    const message = 'Invalid JSON payload received or JSON payload is empty.';
    return { ok: false, error: { code: 'bad_request', message, status: 400 } };
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    return invalid(`the body must be a JSON object, got ${kindOf(envelope)}`);
  }
  const { inputs, user, response_mode: responseMode } = envelope as Record<string, unknown>;
  if (!Array.isArray(inputs)) {
    return invalid(`"inputs" must be an array of input objects, got ${kindOf(inputs)}`);
  }
  // Dify coerces `user` with str() and refuses it only when missing or empty.
  if (user === undefined || user === null || user === '') return invalid('Arg user must be provided.');
  if (typeof user === 'object') return invalid(`"user" must be a string, got ${kindOf(user)}`);
  if (responseMode !== undefined && responseMode !== null && responseMode !== 'blocking') {
    return invalid(
      `"response_mode" must be "blocking" (send Accept: application/x-ndjson to stream results), got ${JSON.stringify(responseMode)}`,
    );
  }
  if (inputs.length > maxItems) {
    const message = `"inputs" has ${inputs.length} items; this gateway takes at most ${maxItems} (--max-items)`;
    return { ok: false, error: { code: 'request_entity_too_large', message, status: 413 } };
  }
  const userText = String(user);
  return { ok: true, elements: inputs.map((element, index) => toElement(element, index, app, userText)) };
}

function toElement(element: unknown, index: number, app: DifyAppKind, user: string): BatchElement {
  if (typeof element !== 'object' || element === null || Array.isArray(element)) {
    return elementError(`inputs[${index}] must be a JSON object, got ${kindOf(element)}`);
  }
  const record = element as Record<string, unknown>;
  if (app === 'workflow') {
    return { body: JSON.stringify({ inputs: record, response_mode: 'blocking', user }) };
  }
  const { query, ...rest } = record;
  if (query !== undefined && typeof query !== 'string') {
    return elementError(`inputs[${index}] field "query" must be a string, got ${kindOf(query)}`);
  }
  if (app === 'chat' && (query === undefined || query === '')) {
    return elementError(`inputs[${index}] field "query" (the chat message) is missing or empty`);
  }
  const body: Record<string, unknown> = { inputs: rest, response_mode: 'blocking', user };
  if (query !== undefined) body.query = query;
  return { body: JSON.stringify(body) };
}

function elementError(message: string): BatchElement {
  return { error: { code: 'invalid_param', message } };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'undefined' ? 'nothing' : `a ${typeof value}`;
}
