import type { ErrorRecord, Item, SourcePosition } from '../../core/Item.js';
import type { ParsedRecord } from './ParsedRecord.js';
import { readDeadLetterEntry } from './readDeadLetterEntry.js';

/** Where items come from and how to number them; shared by every source. */
export interface ItemContext {
  /** The partition key put in every position (the file path, `-` for stdin). */
  readonly partition?: string | undefined;
  readonly idField?: string | undefined;
  /** Records to drop from the start (resume); their seq numbers are still used up. */
  readonly skip: number;
  /** The `seq` of the first record parsed (a stream that starts mid-file, after a seek). @defaultValue 0 */
  readonly firstSeq?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Returns a function that turns each parsed record, in read order, into an {@link Item} with the next
 * dense `seq` — or `undefined` for the first `skip` records. Used by readItems and fromAsyncIterable.
 *
 * @remarks
 * A record that is unparseable, not a JSON object, or lacks its id field becomes an item with
 * `error` (ERR_SOURCE_PARSE) instead of ending the stream. Unparseable ones carry their original
 * text as `inputs._raw`, so a dead-letter file keeps it; one without its id keeps its fields.
 * Records read back from a dead-letter file (an own `_error` or `_raw` key) are restored by
 * readDeadLetterEntry: one that never parsed stays an error item, the others lose `_error`.
 */
export function createItemizer(ctx: ItemContext): (record: ParsedRecord) => Item | undefined {
  let seq = ctx.firstSeq ?? 0;
  return (record) => {
    const current = seq++;
    return current < ctx.skip ? undefined : toItem(record, current, ctx);
  };
}

function toItem(record: ParsedRecord, seq: number, ctx: ItemContext): Item {
  const position = toPosition(record, ctx.partition);
  const fallbackId = String(seq);
  if (record.error !== undefined) {
    return parseFailure(
      seq,
      fallbackId,
      { _raw: record.raw ?? '' },
      position,
      `${where(record)}: ${record.error}`,
    );
  }
  const value = record.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    const raw = record.raw ?? JSON.stringify(value) ?? String(value);
    return parseFailure(
      seq,
      fallbackId,
      { _raw: raw },
      position,
      `${where(record)}: expected a JSON object, got ${kind}`,
    );
  }
  let inputs = value as Record<string, unknown>;
  if (Object.hasOwn(inputs, '_error') || Object.hasOwn(inputs, '_raw')) {
    const entry = readDeadLetterEntry(inputs);
    if (entry.raw !== undefined) {
      const first = entry.firstError === undefined ? '' : ` (it failed with: ${entry.firstError})`;
      const message = `${where(record)}: an unparseable record in a dead-letter file, not sent: fix its text and re-run it${first}`;
      return parseFailure(seq, fallbackId, { _raw: entry.raw }, position, message);
    }
    inputs = entry.inputs;
  }
  if (ctx.idField === undefined) return { seq, id: fallbackId, inputs, position };
  const id = inputs[ctx.idField];
  if (id === undefined || id === null || id === '') {
    const message = `${where(record)}: id field \`${ctx.idField}\` is ${id === '' ? 'empty' : 'missing'}`;
    return parseFailure(seq, fallbackId, inputs, position, message);
  }
  return { seq, id: typeof id === 'object' ? JSON.stringify(id) : String(id), inputs, position };
}

function parseFailure(
  seq: number,
  id: string,
  inputs: Record<string, unknown>,
  position: SourcePosition,
  message: string,
): Item {
  const error: ErrorRecord = { code: 'ERR_SOURCE_PARSE', message, retryable: false };
  return { seq, id, inputs, position, error };
}

function where(record: ParsedRecord): string {
  if (record.record === undefined) return `line ${record.line}`;
  return record.line === undefined
    ? `record ${record.record}`
    : `record ${record.record} (line ${record.line})`;
}

/** Written field by field, not with conditional spreads: this runs once per record. */
function toPosition(record: ParsedRecord, partition: string | undefined): SourcePosition {
  const position: { partition?: string; line?: number; offset?: number } = {};
  if (partition !== undefined) position.partition = partition;
  if (record.line !== undefined) position.line = record.line;
  if (record.offset !== undefined) position.offset = record.offset;
  return position;
}
