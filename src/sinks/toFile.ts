import type { ItemResult } from '../core/ItemResult.js';
import { checkFormatOfPath } from '../sources/internal/formatOf.js';
import { checkResumeAt, checkSinkFormat, checkSinkPath, openPathSink } from './internal/openPathSink.js';
import { RESULT_ENCODING } from './internal/resultEncoding.js';
import type { ResultSink } from './ResultSink.js';
import type { SinkFormat } from './SinkFormat.js';

/**
 * Options of {@link toFile}.
 * @category sinks
 */
export interface ToFileOptions {
  /**
   * How results are framed.
   * @defaultValue inferred from the extension (`.ndjson`/`.jsonl`, `.json`, `.csv`); `'ndjson'` for stdout (`-`)
   */
  readonly format?: SinkFormat | undefined;
  /**
   * Destroys the file stream (closing it) and makes pending and later calls reject with `signal.reason`.
   * @defaultValue `undefined`
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Resume a crashed run: cut the file back to this many bytes (the checkpoint's offset, dropping a
   * torn tail) and append after them, continuing the framing (no second `[` or CSV header).
   * `0` starts the file afresh. Throws (ERR_INVALID_OPTION) when the file is shorter.
   * @defaultValue `undefined` (the file is created or truncated)
   */
  readonly resumeAt?: number | undefined;
}

/**
 * Writes results to a file, or to stdout for `-`.
 *
 * @remarks
 * The file is created (or truncated) only when the first result is written, so a run that fails before
 * its first result leaves an existing file untouched; `close()` with nothing written writes the empty
 * document (`[]`, the CSV header, an empty NDJSON file), `close({ failed: true })` creates nothing.
 * Same formats and backpressure as {@link toWritable}: a batch's promise resolves once the OS has the
 * bytes (the write callback), which is what hands credits back to the source. `close()` writes the JSON
 * trailer, ends the file and waits until it is closed; stdout is flushed but never closed.
 *
 * @param path - The output path, or `-` for stdout.
 * @param options - Format and signal.
 * @returns A {@link ResultSink} of {@link ItemResult}s.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for bad options or an extension that does
 * not name a format. `write`/`close` reject with ERR_SINK_WRITE naming the path when the file cannot be
 * opened or written (fatal), and with `signal.reason` on abort.
 * @example
 * ```ts
 * import { toFile } from 'dify-batch';
 *
 * const sink = toFile('out.csv');
 * await sink.write([{ seq: 0, id: 'a', ok: true, outputs: { answer: 'hi' }, attempts: 1, latencyMs: 12 }]);
 * await sink.close();
 * // out.csv:
 * // seq,id,ok,attempts,latencyMs,outputs,error_code,error_message
 * // 0,a,true,1,12,"{""answer"":""hi""}",,
 * ```
 * @see toWritable
 * @see toDeadLetter
 * @since 0.1.0
 * @category sinks
 */
export function toFile(path: string, options?: Readonly<ToFileOptions>): ResultSink<ItemResult> {
  checkSinkPath(path);
  const format =
    options?.format !== undefined
      ? checkSinkFormat(options.format)
      : path === '-'
        ? 'ndjson'
        : checkFormatOfPath(path);
  const resumeAt = checkResumeAt(options?.resumeAt, path);
  return openPathSink(path, format, RESULT_ENCODING, options?.signal, resumeAt);
}
