import { DifyBatchError } from '../core/DifyBatchError.js';
import type { Item } from '../core/Item.js';
import type { DifyAppKind, DifyRequest, DifyResponseMode } from '../dify/DifyRequest.js';
import type { Mutable } from '../internal/Mutable.js';

/** How a record becomes a Dify request. */
export interface RequestMapping {
  readonly app: DifyAppKind;
  /** @defaultValue 'blocking' */
  readonly responseMode?: DifyResponseMode;
  /** Sent as `user` on every call. @defaultValue 'dify-batch' */
  readonly user?: string;
  /** Take `inputs` from this field of the record (must be an object); else the whole record is `inputs`. */
  readonly inputsField?: string;
  /** Take `query` from this field (chat: required; completion: optional). @defaultValue 'query' for chat */
  readonly queryField?: string;
  /** Take the chat `conversation_id` from this field, when present. */
  readonly conversationIdField?: string;
}

// Written by the dead-letter sink and by sources for unparseable lines; never sent to Dify, so a
// dead-letter file fed back as input re-runs exactly the original records.
const RESERVED_KEYS = ['_error', '_raw'];

function invalid(item: Item, message: string): DifyBatchError {
  return new DifyBatchError('ERR_INPUT_INVALID', `record ${item.id} (seq ${item.seq}): ${message}`);
}

function without(record: Record<string, unknown>, dropped: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    if (dropped.has(key)) continue;
    // `out.__proto__ = v` would set the prototype and drop the field; a record's keys are plain data.
    if (key === '__proto__')
      Object.defineProperty(out, key, {
        value: record[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else out[key] = record[key];
  }
  return out;
}

/**
 * Returns the `toRequest` function callDify uses. Throws `ERR_INPUT_INVALID` naming the record and the
 * field when a record does not fit (no call is made; the item becomes an `ok: false` result).
 */
export function buildRequest(mapping: RequestMapping): (item: Item) => DifyRequest {
  const { app, inputsField, conversationIdField } = mapping;
  const responseMode = mapping.responseMode ?? 'blocking';
  const user = mapping.user ?? 'dify-batch';
  const queryField = mapping.queryField ?? (app === 'chat' ? 'query' : undefined);
  // Keys never sent as inputs when the whole record is the inputs: built once, not per record.
  const dropped = new Set([...RESERVED_KEYS, queryField, conversationIdField].filter((k) => k !== undefined));
  return (item) => {
    const record = item.inputs;
    let inputs: Record<string, unknown>;
    if (inputsField === undefined) {
      inputs = without(record, dropped);
    } else {
      const value = record[inputsField];
      if (value === undefined) throw invalid(item, `field "${inputsField}" (--inputs-field) is missing`);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw invalid(
          item,
          `field "${inputsField}" must be a JSON object of input variables, got ${Array.isArray(value) ? 'array' : typeof value}`,
        );
      }
      inputs = value as Record<string, unknown>;
    }
    let query: string | undefined;
    if (queryField !== undefined) {
      const value = record[queryField];
      if (value === undefined || value === null || value === '') {
        if (app === 'chat') throw invalid(item, `field "${queryField}" (the chat query) is missing or empty`);
      } else if (typeof value !== 'string') {
        throw invalid(item, `field "${queryField}" (the query) must be a string, got ${typeof value}`);
      } else {
        query = value;
      }
    }
    let conversationId: string | undefined;
    if (conversationIdField !== undefined) {
      const value = record[conversationIdField];
      if (typeof value === 'string' && value !== '') conversationId = value;
    }
    // Optional fields assigned, not spread in: no throw-away objects per record.
    const request: Mutable<DifyRequest> = {
      app,
      inputs,
      user,
      responseMode,
    };
    if (query !== undefined) request.query = query;
    if (conversationId !== undefined) request.conversationId = conversationId;
    return request;
  };
}
