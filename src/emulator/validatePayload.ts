import { pyRepr, pyTypeName } from './pyJson.js';
import { pythonUuid } from './pythonUuid.js';

/** The pydantic models Dify validates run bodies with. */
export type PayloadModel = 'WorkflowRunPayload' | 'CompletionRequestPayload' | 'ChatRequestPayload';

interface LineError {
  readonly loc: string;
  readonly msg: string;
  readonly type: string;
  readonly input: unknown;
}

const PYDANTIC_DOCS = 'https://errors.pydantic.dev/2.12/v/';
const BOOL_TRUE = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const BOOL_FALSE = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

function isDict(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a run body as Dify's pydantic model does and returns `str(ValidationError)`, or `undefined`
 * when the body is valid. Fields are checked in the model's declaration order.
 * Used by `EmulatorServer` for `POST /workflows/run`, `/completion-messages` and `/chat-messages`.
 */
export function validatePayload(model: PayloadModel, payload: Record<string, unknown>): string | undefined {
  const chat = model === 'ChatRequestPayload';
  let errors = add(
    undefined,
    payload,
    'inputs',
    !('inputs' in payload) ? MISSING : isDict(payload.inputs) ? undefined : DICT,
  );
  if (chat)
    errors = add(errors, payload, 'query', !('query' in payload) ? MISSING : stringProblem(payload.query));
  else if (model === 'CompletionRequestPayload' && 'query' in payload) {
    errors = add(errors, payload, 'query', stringProblem(payload.query));
  }
  if ('files' in payload) errors = checkFiles(payload.files, errors);
  const mode = payload.response_mode;
  if (mode !== undefined && mode !== null && mode !== 'blocking' && mode !== 'streaming') {
    errors = add(errors, payload, 'response_mode', LITERAL);
  }
  if (chat && conversationIdOf(payload) === null) errors = add(errors, payload, 'conversation_id', NOT_UUID);
  if (model !== 'WorkflowRunPayload' && 'retriever_from' in payload) {
    errors = add(errors, payload, 'retriever_from', stringProblem(payload.retriever_from));
  }
  if (chat) {
    if ('auto_generate_name' in payload) {
      errors = add(errors, payload, 'auto_generate_name', boolProblem(payload.auto_generate_name));
    }
    const workflowId = payload.workflow_id;
    if (workflowId !== undefined && workflowId !== null) {
      errors = add(errors, payload, 'workflow_id', stringProblem(workflowId));
    }
  }
  if (errors === undefined) return undefined;
  // Dify drops `trace_session_id` from the body before validating it, so pydantic never shows it.
  const shown = model === 'WorkflowRunPayload' ? withoutKey(payload, 'trace_session_id') : payload;
  const lines = errors.map((e) => {
    const input = e.input === payload ? shown : e.input;
    return (
      `${e.loc}\n  ${e.msg} [type=${e.type}, input_value=${truncateRepr(pyRepr(input))}, ` +
      `input_type=${pyTypeName(input)}]\n    For further information visit ${PYDANTIC_DOCS}${e.type}`
    );
  });
  const n = errors.length;
  return `${n} validation error${n === 1 ? '' : 's'} for ${model}\n${lines.join('\n')}`;
}

/**
 * The chat body's `conversation_id` as Dify normalises it: `undefined` for none (missing, null, blank),
 * the canonical UUID, or `null` when it is not a UUID.
 */
export function conversationIdOf(payload: Record<string, unknown>): string | undefined | null {
  let value = payload.conversation_id;
  if (typeof value === 'string') value = value.trim();
  if (!value) return undefined;
  return typeof value === 'string' ? (pythonUuid(value) ?? null) : null;
}

type Problem = { readonly msg: string; readonly type: string };

const MISSING: Problem = { msg: 'Field required', type: 'missing' };
const DICT: Problem = { msg: 'Input should be a valid dictionary', type: 'dict_type' };
const LITERAL: Problem = { msg: "Input should be 'blocking' or 'streaming'", type: 'literal_error' };
const NOT_UUID: Problem = { msg: 'Value error, conversation_id must be a valid UUID', type: 'value_error' };

/** Records a field's problem (the list is only made for the first one: valid bodies allocate nothing). */
function add(
  errors: LineError[] | undefined,
  payload: Record<string, unknown>,
  name: string,
  problem: Problem | undefined,
): LineError[] | undefined {
  if (problem === undefined) return errors;
  const list = errors ?? [];
  // A missing field shows the whole body as its input, like pydantic.
  list.push({ loc: name, ...problem, input: name in payload ? payload[name] : payload });
  return list;
}

function stringProblem(value: unknown): Problem | undefined {
  return typeof value === 'string'
    ? undefined
    : { msg: 'Input should be a valid string', type: 'string_type' };
}

function boolProblem(value: unknown): Problem | undefined {
  if (typeof value === 'boolean' || value === 0 || value === 1) return undefined;
  if (
    typeof value === 'string' &&
    (BOOL_TRUE.has(value.toLowerCase()) || BOOL_FALSE.has(value.toLowerCase()))
  ) {
    return undefined;
  }
  return typeof value === 'string' || typeof value === 'number'
    ? { msg: 'Input should be a valid boolean, unable to interpret input', type: 'bool_parsing' }
    : { msg: 'Input should be a valid boolean', type: 'bool_type' };
}

function checkFiles(files: unknown, errors: LineError[] | undefined): LineError[] | undefined {
  if (files === null) return errors;
  if (!Array.isArray(files))
    return add(errors, { files }, 'files', { msg: 'Input should be a valid list', type: 'list_type' });
  let out = errors;
  files.forEach((file, i) => {
    if (!isDict(file)) out = add(out, { [`files.${i}`]: file }, `files.${i}`, DICT);
  });
  return out;
}

function withoutKey(payload: Record<string, unknown>, key: string): Record<string, unknown> {
  if (!(key in payload)) return payload;
  const { [key]: _dropped, ...rest } = payload;
  return rest;
}

/** pydantic-core's `input_value` cut: over 50 UTF-8 bytes, the first 25 and the last 24 around `...`. */
export function truncateRepr(repr: string): string {
  const bytes = Buffer.from(repr, 'utf8');
  if (bytes.length <= 50) return repr;
  let head = 25;
  while (head > 0 && (bytes[head]! & 0xc0) === 0x80) head--;
  let tail = bytes.length - 24;
  while (tail < bytes.length && (bytes[tail]! & 0xc0) === 0x80) tail++;
  return `${bytes.toString('utf8', 0, head)}...${bytes.toString('utf8', tail)}`;
}
