import type { Writable } from 'node:stream';

/**
 * Writes `chunk` and resolves when the stream has taken it: after the write callback and, when
 * `write()` returned false, after `'drain'`.
 *
 * @remarks
 * Both are awaited because either alone can lie: the callback says this chunk was handled but not that
 * the buffer is below highWaterMark again, and `'drain'` (emitted just before the callbacks in Node)
 * says nothing about an error in this chunk. Rejects with the stream's error, with an error when the
 * stream closes first, or with `signal.reason` on abort. All listeners are removed on every path.
 * Used by createStreamSink.
 */
export function writeChunk(writable: Writable, chunk: string, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    if (writable.destroyed || writable.writableEnded) {
      return reject(new Error('the stream is already closed'));
    }
    let written = false;
    let drained = true;
    const cleanup = (): void => {
      writable.off('drain', onDrain);
      writable.off('error', onError);
      writable.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const settle = (): void => {
      if (!written || !drained) return;
      cleanup();
      resolve();
    };
    const onDrain = (): void => {
      drained = true;
      settle();
    };
    const onError = (error: unknown): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => onError(new Error('the stream closed before the data was written'));
    const onAbort = (): void => onError(signal?.reason);
    writable.on('error', onError);
    writable.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    const ok = writable.write(chunk, (error) => {
      if (error) return onError(error);
      written = true;
      settle();
    });
    if (!ok) {
      drained = false;
      writable.on('drain', onDrain);
    }
  });
}
