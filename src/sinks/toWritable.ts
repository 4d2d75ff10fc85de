import type { Writable } from 'node:stream';
import type { ItemResult } from '../core/ItemResult.js';
import { checkBoolean, checkOption, checkSignal } from '../internal/checkOption.js';
import { createEncoder } from './internal/createEncoder.js';
import { createStreamSink } from './internal/createStreamSink.js';
import { checkSinkFormat } from './internal/openPathSink.js';
import { RESULT_ENCODING } from './internal/resultEncoding.js';
import type { ResultSink } from './ResultSink.js';
import type { SinkFormat } from './SinkFormat.js';

/**
 * Options of {@link toWritable}.
 * @category sinks
 */
export interface ToWritableOptions {
  /**
   * How results are framed.
   * @defaultValue `'ndjson'`
   */
  readonly format?: SinkFormat | undefined;
  /**
   * Whether `close()` ends the writable (and waits for `'finish'`), and an abort destroys it.
   * @defaultValue `false`
   */
  readonly end?: boolean | undefined;
  /**
   * Makes pending and later `write`/`close` calls reject with `signal.reason`.
   * @defaultValue `undefined`
   */
  readonly signal?: AbortSignal | undefined;
}

/** The defaults of {@link ToWritableOptions}. */
export const TO_WRITABLE_DEFAULTS = Object.freeze({ format: 'ndjson' as SinkFormat, end: false });

/**
 * Writes results to any Node Writable (a socket, an HTTP response, a gzip stream) with backpressure.
 *
 * @remarks
 * Each batch becomes one `write()`; its promise resolves only after the write callback and, when
 * `write()` returned false, `'drain'`, so a slow consumer slows the run instead of filling memory.
 * - `ndjson`: one line per result, `{ seq, id, ok, outputs | error, attempts, latencyMs, … }`.
 * - `json`: one valid JSON array written incrementally (`[` on the first batch, `]` on close; `[]` for
 *   an empty run).
 * - `csv`: columns `seq,id,ok,attempts,latencyMs,outputs,error_code,error_message`, `outputs` as JSON.
 *
 * @param writable - Any Node Writable in byte/string mode.
 * @param options - Format, ownership (`end`) and signal.
 * @returns A {@link ResultSink} of {@link ItemResult}s.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for bad options. `write`/`close` reject
 * with ERR_SINK_WRITE (fatal) when the stream fails, and with `signal.reason` on abort.
 * @example
 * ```ts
 * import { toWritable } from 'dify-batch';
 *
 * const sink = toWritable(process.stdout, { format: 'json' });
 * await sink.write([{ seq: 0, id: 'a', ok: true, outputs: { answer: 'hi' }, attempts: 1, latencyMs: 12 }]);
 * await sink.close();
 * // Output:
 * // [
 * // {"seq":0,"id":"a","ok":true,"outputs":{"answer":"hi"},"attempts":1,"latencyMs":12}
 * // ]
 * ```
 * @see toFile
 * @since 0.1.0
 * @category sinks
 */
export function toWritable(
  writable: Writable,
  options?: Readonly<ToWritableOptions>,
): ResultSink<ItemResult> {
  checkOption(typeof writable?.write === 'function', 'writable', 'a Node Writable stream', writable);
  const format = checkSinkFormat(options?.format ?? TO_WRITABLE_DEFAULTS.format);
  const end = checkBoolean('end', options?.end ?? TO_WRITABLE_DEFAULTS.end);
  const signal = checkSignal(options?.signal);
  return createStreamSink(writable, createEncoder(format, RESULT_ENCODING), {
    label: 'the output stream',
    end,
    signal,
  });
}
