import { createWriteStream } from 'node:fs';
import { DifyBatchError } from '../../core/DifyBatchError.js';
import { InvalidOptionError } from '../../core/InvalidOptionError.js';
import type { ResultSink } from '../ResultSink.js';
import { SINK_FORMATS, type SinkFormat } from '../SinkFormat.js';
import { createEncoder, type EncoderSpec } from './createEncoder.js';
import { createStreamSink } from './createStreamSink.js';

const EXTENSIONS: Readonly<Record<string, SinkFormat>> = Object.freeze({
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  json: 'json',
  csv: 'csv',
});

/** Throws unless `format` is one of SINK_FORMATS. */
export function checkSinkFormat(format: unknown): SinkFormat {
  if (!SINK_FORMATS.includes(format as SinkFormat)) {
    throw new InvalidOptionError('format', `one of ${SINK_FORMATS.map((f) => `'${f}'`).join(', ')}`, format);
  }
  return format as SinkFormat;
}

/** Throws unless `path` is a non-empty string naming an uncompressed file (or `-`). */
export function checkSinkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '')
    throw new InvalidOptionError('path', 'a non-empty string', path);
  if (/\.gz$/i.test(path))
    throw new InvalidOptionError('path', 'an uncompressed file (no gzip output yet)', path);
}

/** The format of `path` by its extension, or `undefined` when it does not say. */
export function sinkFormatOf(path: string): SinkFormat | undefined {
  const ext = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase();
  return ext === undefined ? undefined : EXTENSIONS[ext];
}

/**
 * A sink over a file (or stdout for `-`) that opens it lazily. Used by toFile and toDeadLetter.
 *
 * @remarks
 * Nothing is created or truncated until the first non-empty `write()`: a run that fails on bad
 * options or before its first result leaves an existing file byte-for-byte untouched. A `close()`
 * with nothing written creates the empty document (`[]`, a CSV header, an empty NDJSON file), because a
 * finished run with zero records must still leave a valid output; `close({ failed: true })` with
 * nothing written creates nothing. stdout is never ended.
 */
export function openPathSink<T>(
  path: string,
  format: SinkFormat,
  spec: EncoderSpec<T>,
  signal: AbortSignal | undefined,
): ResultSink<T> {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionError('signal', 'an AbortSignal', signal);
  }
  const isStdout = path === '-';
  const label = isStdout ? 'stdout' : path;
  let opened: ResultSink<T> | undefined;
  const open = (): ResultSink<T> => {
    opened ??= createStreamSink(
      isStdout ? process.stdout : createWriteStream(path),
      createEncoder(format, spec),
      { label, end: !isStdout, signal },
    );
    return opened;
  };
  let closed = false;
  return {
    async write(batch) {
      if (opened === undefined) {
        // Neither an aborted nor a finished sink, nor an empty batch, is a reason to create the file.
        if (signal?.aborted) throw signal.reason;
        if (closed) {
          throw new DifyBatchError('ERR_SINK_WRITE', `cannot write ${label}: the sink is already closed`);
        }
        if (batch.length === 0) return;
      }
      return open().write(batch);
    },
    async close(options) {
      if (opened === undefined) {
        if (signal?.aborted) throw signal.reason;
        if (closed || options?.failed === true) {
          closed = true;
          return;
        }
      }
      closed = true;
      return open().close(options);
    },
  };
}
