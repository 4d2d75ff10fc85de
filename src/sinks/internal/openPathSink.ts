import { createWriteStream, fsync, statSync, truncateSync } from 'node:fs';
import { promisify } from 'node:util';
import { DifyBatchError } from '../../core/DifyBatchError.js';
import {
  checkInteger,
  checkOneOf,
  checkOption,
  checkSignal,
  checkString,
} from '../../internal/checkOption.js';
import type { ResultSink } from '../ResultSink.js';
import { SINK_FORMATS, type SinkFormat } from '../SinkFormat.js';
import { createEncoder, type EncoderSpec } from './createEncoder.js';
import { createStreamSink } from './createStreamSink.js';

/** Throws unless `format` is one of SINK_FORMATS. */
export function checkSinkFormat(format: unknown): SinkFormat {
  return checkOneOf('format', format, SINK_FORMATS);
}

/** Throws unless `path` is a non-empty string naming an uncompressed file (or `-`). */
export function checkSinkPath(path: unknown): asserts path is string {
  const text = checkString('path', path);
  checkOption(!/\.gz$/i.test(text), 'path', 'an uncompressed file (no gzip output yet)', path);
}

const fsyncAsync = promisify(fsync);

/** Throws unless `resumeAt` is undefined or a byte count (an integer ≥ 0). */
export function checkResumeAt(resumeAt: unknown, path: string): number | undefined {
  if (resumeAt === undefined) return undefined;
  checkOption(path !== '-', 'resumeAt', 'a file path, not stdout', path);
  return checkInteger('resumeAt', resumeAt, 0);
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
 *
 * With `resumeAt` (checked now: the file must be at least that long) the file is instead cut back to
 * that many bytes when it is opened, and appended to with its framing continued.
 */
export function openPathSink<T>(
  path: string,
  format: SinkFormat,
  spec: EncoderSpec<T>,
  signal: AbortSignal | undefined,
  resumeAt?: number,
): ResultSink<T> {
  checkSignal(signal);
  const isStdout = path === '-';
  const continued = resumeAt !== undefined && resumeAt > 0;
  if (continued) {
    const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    checkOption(size >= resumeAt, 'resumeAt', `at most the size of ${path} (${size} bytes)`, resumeAt);
  }
  const label = isStdout ? 'stdout' : path;
  let opened: ResultSink<T> | undefined;
  const open = (): ResultSink<T> => {
    if (opened !== undefined) return opened;
    // Whatever follows the checkpointed offset is a torn tail of a crashed run: cut it before appending.
    if (continued) truncateSync(path, resumeAt);
    const writable = isStdout ? process.stdout : createWriteStream(path, continued ? { flags: 'a' } : {});
    // fs.WriteStream has an `fd` at runtime (null until opened) that @types/node does not declare.
    const file = isStdout ? undefined : (writable as unknown as { readonly fd: number | null });
    opened = createStreamSink(writable, createEncoder(format, spec, continued), {
      label,
      end: !isStdout,
      signal,
      startBytes: continued ? resumeAt : 0,
      sync:
        file === undefined
          ? undefined
          : async () => {
              // `fd` is null until the open completes; nothing was written before that.
              if (typeof file.fd !== 'number') return;
              await fsyncAsync(file.fd).catch((error: NodeJS.ErrnoException) => {
                // A pipe or a device has nothing to make durable.
                if (error.code !== 'EINVAL' && error.code !== 'ENOTSUP') throw error;
              });
            },
    });
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
    get bytesWritten() {
      return opened === undefined ? (continued ? resumeAt : 0) : opened.bytesWritten;
    },
    async sync() {
      await opened?.sync?.();
    },
  };
}
