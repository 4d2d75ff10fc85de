import type { IncomingMessage } from 'node:http';
import { DifyBatchError } from '../core/DifyBatchError.js';

/** The body, or `undefined` when it went over the limit (reading stopped there). */
export type RequestBody = { readonly text: string } | undefined;

/**
 * Reads a request body as UTF-8, at most `maxBytes`. A declared `Content-Length` over the limit is
 * refused before reading anything; a chunked body is refused as soon as it goes over, and the rest is
 * never read (the caller answers 413 and closes the connection). Rejects with `ERR_ABORTED` when the
 * client goes away before the end of its body.
 */
export function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<RequestBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(undefined);
  return new Promise<RequestBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ text: Buffer.concat(chunks, size).toString('utf8') });
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    // The client went away before the end of its body: nothing to answer.
    const onClose = (): void => {
      cleanup();
      reject(new DifyBatchError('ERR_ABORTED', 'the client closed the request before the end of its body'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
