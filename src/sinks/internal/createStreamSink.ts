import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { DifyBatchError } from '../../core/DifyBatchError.js';
import type { ResultSink } from '../ResultSink.js';
import type { Encoder } from './createEncoder.js';
import { writeChunk } from './writeChunk.js';

/** How createStreamSink treats its stream. */
export interface StreamSinkOptions {
  /** How errors name the destination: a path, `stdout`, `the output stream`. */
  readonly label: string;
  /** Whether `close()` ends the stream (and an abort destroys it): true when the sink owns it. */
  readonly end: boolean;
  readonly signal?: AbortSignal | undefined;
  /** Bytes already in the destination (a resumed file): where `bytesWritten` starts. @defaultValue 0 */
  readonly startBytes?: number | undefined;
  /** Makes what was written durable (a file's fsync); `undefined` when there is nothing to sync. */
  readonly sync?: (() => Promise<void>) | undefined;
}

/**
 * A {@link ResultSink} over any Writable: encodes each batch to one string and writes it with
 * backpressure. Used by toWritable, toFile and toDeadLetter.
 *
 * @remarks
 * Batches are encoded and handed to the stream in call order, so concurrent `write` calls keep their
 * order. The first failure (a stream error, an unserialisable value) is kept as ERR_SINK_WRITE and
 * every later call rejects with it. A persistent `'error'` listener keeps an error that arrives between
 * writes (a failed `open`) from crashing the process; it is removed on close.
 */
export function createStreamSink<T>(
  writable: Writable,
  encoder: Encoder<T>,
  options: StreamSinkOptions,
): ResultSink<T> {
  const { label, end, signal, sync } = options;
  let bytesWritten = options.startBytes ?? 0;
  let failure: DifyBatchError | undefined;
  let closing: Promise<void> | undefined;
  const fail = (error: unknown): DifyBatchError => {
    if (failure !== undefined) return failure;
    const message = error instanceof Error ? error.message : String(error);
    failure = new DifyBatchError('ERR_SINK_WRITE', `cannot write ${label}: ${message}`, { cause: error });
    return failure;
  };
  const onError = (error: unknown): void => {
    fail(error);
  };
  const onAbort = (): void => {
    writable.destroy();
  };
  const detach = (): void => {
    writable.off('error', onError);
    signal?.removeEventListener('abort', onAbort);
  };
  writable.on('error', onError);
  // Only a stream the sink owns is destroyed on abort (closing a file); a borrowed one is left alone.
  if (end) signal?.addEventListener('abort', onAbort, { once: true });

  const send = async (text: string): Promise<void> => {
    try {
      await writeChunk(writable, text, signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw failure ?? fail(error);
    }
  };
  const check = (): void => {
    if (signal?.aborted) throw signal.reason;
    if (failure !== undefined) throw failure;
  };

  return {
    async write(batch) {
      check();
      if (closing !== undefined) {
        throw new DifyBatchError('ERR_SINK_WRITE', `cannot write ${label}: the sink is already closed`);
      }
      if (batch.length === 0) return;
      let text: string;
      try {
        text = encoder.encode(batch);
      } catch (error) {
        throw fail(error);
      }
      await send(text);
      bytesWritten += Buffer.byteLength(text);
    },
    get bytesWritten() {
      return bytesWritten;
    },
    ...(sync === undefined
      ? {}
      : {
          async sync() {
            check();
            await sync().catch((error: unknown) => {
              throw fail(error);
            });
          },
        }),
    close() {
      closing ??= (async () => {
        try {
          check();
          const trailer = encoder.finish();
          if (trailer !== '') {
            await send(trailer);
            bytesWritten += Buffer.byteLength(trailer);
          }
          if (end) {
            writable.end();
            await finished(writable);
          }
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          throw failure ?? fail(error);
        } finally {
          detach();
          if (end && signal?.aborted) writable.destroy();
        }
      })();
      return closing;
    },
  };
}
