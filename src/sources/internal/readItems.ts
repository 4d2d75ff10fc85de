import type { Readable } from 'node:stream';
import { DifyBatchError } from '../../core/DifyBatchError.js';
import type { Item } from '../../core/Item.js';
import type { SourceFormat } from '../SourceFormat.js';
import { createItemizer, type ItemContext } from './createItemizer.js';
import type { ParsedRecord } from './ParsedRecord.js';
import { type CsvResume, parseCsv } from './parseCsv.js';
import { parseJsonArray } from './parseJsonArray.js';
import { parseNdjson } from './parseNdjson.js';

/** What {@link readItems} needs besides the stream. */
export interface ReadContext extends ItemContext {
  readonly format: SourceFormat;
  /** How fatal errors name the input: a path, or `the input stream`. */
  readonly label: string;
  /** NDJSON only: the stream starts mid-file, after this many lines and bytes (a seek to resume). */
  readonly startAt?: { readonly line: number; readonly offset: number } | undefined;
  /** CSV only: the stream starts mid-file; the file's header and the lines and bytes before the stream. */
  readonly csvResume?: CsvResume | undefined;
}

/**
 * The engine behind fromFile and fromReadable: parses `input` in `format` and yields items.
 *
 * @remarks
 * Takes ownership of `input`: it is destroyed when iteration ends for any reason (end, `break`,
 * error, abort), which for a file closes the descriptor. On abort the stream is destroyed at once,
 * so a pending read rejects and an idle consumer gets `signal.reason` on its next pull.
 * Any other failure of the stream or the format's structure becomes ERR_SOURCE_READ naming `label`.
 */
export async function* readItems(input: Readable, ctx: ReadContext): AsyncGenerator<Item> {
  const { signal } = ctx;
  if (signal?.aborted) {
    input.destroy();
    throw signal.reason;
  }
  const onAbort = (): void => {
    input.destroy(signal?.reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const itemize = createItemizer(ctx);
  try {
    for await (const records of parse(input, ctx)) {
      for (const record of records) {
        const item = itemize(record);
        if (item === undefined) continue;
        yield item;
        // An abort while the consumer is idle has no pending read to interrupt; catch it on resume.
        signal?.throwIfAborted();
      }
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof DifyBatchError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new DifyBatchError('ERR_SOURCE_READ', `cannot read ${ctx.label}: ${message}`, { cause: error });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    input.destroy();
  }
}

function parse(input: Readable, ctx: ReadContext): AsyncIterable<ParsedRecord[]> {
  switch (ctx.format) {
    case 'ndjson':
      return parseNdjson(input, undefined, ctx.startAt);
    case 'json':
      return parseJsonArray(input);
    case 'csv':
      return parseCsv(input, undefined, ctx.csvResume);
  }
}
