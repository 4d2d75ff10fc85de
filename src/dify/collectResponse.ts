import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { CallAbort } from './CallAbort.js';
import type { LimitedText } from './readLimitedText.js';

/** A whole response as {@link collectResponse} read it: status, headers and the body text (up to a limit). */
export interface CollectedResponse extends LimitedText {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

/**
 * One request through undici's dispatch API, its body collected as text: `limit(status)` bytes at
 * most (a longer body is cut there, `truncated`, and the request aborted, which frees the connection).
 *
 * Why not `dispatcher.request()`: that wraps every body in a Node Readable stream, whose machinery (and
 * the Promise of `request()` itself) was the largest part of a blocking call's client CPU. A blocking
 * call only ever wants the whole body, so the chunks are gathered here, straight from the parser.
 *
 * `signal` aborts the request once undici started it (as `request()` does with its `signal`); `onBody`
 * is called when the response headers arrived (the call is then in its body phase).
 */
export function collectResponse(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: CallAbort,
  limit: (status: number) => number,
  onBody: () => void,
): Promise<CollectedResponse> {
  return new Promise<CollectedResponse>((resolve, reject) => {
    dispatcher.dispatch(options, new Collector(resolve, reject, signal, limit, onBody));
  });
}

class Collector implements Dispatcher.DispatchHandler {
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];
  #size = 0;
  #limit = 0;
  #settled = false;

  constructor(
    readonly resolve: (response: CollectedResponse) => void,
    readonly reject: (error: unknown) => void,
    readonly signal: CallAbort,
    readonly limitOf: (status: number) => number,
    readonly onBody: () => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.signal.aborted) {
      const { reason } = this.signal;
      controller.abort(reason instanceof Error ? reason : new errors.RequestAbortedError());
      return;
    }
    this.signal.controller = controller;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.#status = status;
    this.#headers = headers;
    this.#limit = this.limitOf(status);
    this.onBody();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    const room = this.#limit - this.#size;
    if (chunk.byteLength > room) {
      this.#chunks.push(chunk.subarray(0, room));
      this.#size += room;
      this.#finish(true);
      controller.abort(new errors.RequestAbortedError('response body over the limit'));
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.byteLength;
  }

  onResponseEnd(): void {
    this.#finish(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.signal.controller = undefined;
    if (this.#settled) return;
    this.#settled = true;
    this.reject(error);
  }

  #finish(truncated: boolean): void {
    this.signal.controller = undefined;
    if (this.#settled) return;
    this.#settled = true;
    const text =
      this.#chunks.length === 1
        ? this.#chunks[0]!.toString('utf8')
        : Buffer.concat(this.#chunks, this.#size).toString('utf8');
    this.#chunks = [];
    this.resolve({ status: this.#status, headers: this.#headers, text, truncated });
  }
}
