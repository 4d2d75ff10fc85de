import { Duplex } from 'node:stream';
import { fromAsyncIterable } from '../sources/fromAsyncIterable.js';
import { type DifyResultsOptions, difyResults } from './difyResults.js';

/** Options of {@link createDifyTransform}: those of runBatch, without source and sink. */
export type DifyTransformOptions = Omit<DifyResultsOptions, 'source'> & {
  /** Use this field of each record as its `id`. */
  readonly idField?: string;
};

/**
 * The pipeline as a Node object-mode Duplex, for `stream.pipeline`: write plain records in, read
 * `ItemResult`s out (in input order unless `ordered: false`).
 *
 * @remarks
 * Node's own stream backpressure drives the credit gate: when the readable side is not read, the
 * writable side stops accepting records after `window` of them.
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * await pipeline(recordsReadable, createDifyTransform({ transport, app: 'workflow' }), resultsWritable);
 * ```
 * @category pipeline
 */
export function createDifyTransform(options: DifyTransformOptions): Duplex {
  const { idField, ...rest } = options;
  return Duplex.from(async function* (records: AsyncIterable<Record<string, unknown>>) {
    yield* difyResults({
      ...rest,
      source: fromAsyncIterable(records, idField === undefined ? {} : { idField }),
    });
  });
}
