import { createWriteStream } from 'node:fs';
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
 * Opens a file (or stdout for `-`) and returns a sink over it. The file is created (truncated) at
 * once so a bad path fails the first write rather than the end of a long run; stdout is never ended.
 * Used by toFile and toDeadLetter.
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
  const writable = isStdout ? process.stdout : createWriteStream(path);
  return createStreamSink(writable, createEncoder(format, spec), {
    label: isStdout ? 'stdout' : path,
    end: !isStdout,
    signal,
  });
}
