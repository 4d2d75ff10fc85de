import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { CallAbort } from './CallAbort.js';

/**
 * What a caller of {@link collectResponse} does with a response: one object per client, shared by
 * its calls (nothing is built per call). `A` is the call's abort handle, `R` its request.
 */
export interface ResponseHandling<A extends CallAbort, R, T> {
  /** The most body bytes read for `status`; a longer body is cut there (`truncated`) and the request aborted. */
  limitOf(status: number): number;
  /**
   * The call's result from the whole response; a throw rejects the call with {@link fail}'s mapping
   * of it. `rawHeaders` are undici's name/value pairs, for the rare reader that needs one (an error's
   * `Retry-After`): a success never turns them into an object.
   */
  complete(
    abort: A,
    request: R,
    status: number,
    text: string,
    truncated: boolean,
    rawHeaders: readonly Buffer[],
  ): T;
  /** The error the call rejects with; `bodyStarted` once the response headers arrived. */
  fail(abort: A, request: R, error: unknown, bodyStarted: boolean): unknown;
}

/**
 * One request through undici's dispatch API, its body collected as text (up to
 * `handling.limitOf(status)` bytes: a longer body is cut there, `truncated`, and the request aborted,
 * which frees the connection), then turned into the call's result by `handling.complete`.
 *
 * Why not `dispatcher.request()`: that wraps every body in a Node Readable stream, whose machinery (and
 * the Promise of `request()` itself) was the largest part of a blocking call's client CPU. A blocking
 * call only ever wants the whole body, so the chunks are gathered here, straight from the parser, and
 * the result is built before the one Promise of the call settles (no Promise chain per call).
 *
 * Why undici's original handler methods (`onConnect`, `onHeaders`, `onData`, `onComplete`, `onError`,
 * what its own `request()` implements) rather than the `onRequestStart`/`onResponseStart` ones: undici
 * adapts a handler of the newer shape with a wrapper and a controller per request and turns the raw
 * response headers, and the trailers, into objects for every call; a success needs none of that.
 *
 * `abort` aborts the request once undici started it (as `request()` does with its `signal`).
 */
export function collectResponse<A extends CallAbort, R, T>(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  abort: A,
  request: R,
  handling: ResponseHandling<A, R, T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const collector = new Collector(resolve, reject, abort, request, handling);
    try {
      dispatcher.dispatch(options, collector as Dispatcher.DispatchHandler);
    } catch (error) {
      // A dispatcher that throws instead of reporting through onError: the call still ends once.
      collector.onError(error as Error);
    }
  });
}

const NO_HEADERS: readonly Buffer[] = [];

class Collector<A extends CallAbort, R, T> {
  #status = 0;
  #rawHeaders: readonly Buffer[] = NO_HEADERS;
  /** The body so far: most bodies arrive in one chunk, which needs no array. */
  #first: Buffer | undefined = undefined;
  #rest: Buffer[] | undefined = undefined;
  #size = 0;
  #limit = 0;
  #settled = false;
  /** undici's abort for the request in progress (set by onConnect). */
  #abortRequest: ((error: Error) => void) | undefined = undefined;

  constructor(
    readonly resolve: (result: T) => void,
    readonly reject: (error: unknown) => void,
    readonly callAbort: A,
    readonly request: R,
    readonly handling: ResponseHandling<A, R, T>,
  ) {}

  /** Called by {@link CallAbort.abort} while the request is in progress. */
  abort(error: Error): void {
    this.#abortRequest?.(error);
  }

  onConnect(abortRequest: (error: Error) => void): void {
    const signal = this.callAbort;
    if (signal.aborted) {
      const { reason } = signal;
      abortRequest(reason instanceof Error ? reason : new errors.RequestAbortedError());
      return;
    }
    this.#abortRequest = abortRequest;
    signal.controller = this;
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    this.#status = status;
    this.#rawHeaders = rawHeaders;
    this.#limit = this.handling.limitOf(status);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#settled) return true;
    const room = this.#limit - this.#size;
    if (chunk.byteLength > room) {
      this.#add(chunk.subarray(0, room));
      this.#size += room;
      this.#finish(true);
      this.#abortRequest?.(new errors.RequestAbortedError('response body over the limit'));
      return true;
    }
    this.#add(chunk);
    this.#size += chunk.byteLength;
    return true;
  }

  #add(chunk: Buffer): void {
    if (this.#first === undefined) this.#first = chunk;
    else if (this.#rest === undefined) this.#rest = [this.#first, chunk];
    else this.#rest.push(chunk);
  }

  onComplete(): void {
    this.#finish(false);
  }

  onError(error: Error): void {
    this.callAbort.controller = undefined;
    if (this.#settled) return;
    this.#settled = true;
    this.reject(this.handling.fail(this.callAbort, this.request, error, this.#status !== 0));
  }

  #finish(truncated: boolean): void {
    this.callAbort.controller = undefined;
    if (this.#settled) return;
    this.#settled = true;
    const text =
      this.#rest !== undefined
        ? Buffer.concat(this.#rest, this.#size).toString('utf8')
        : (this.#first?.toString('utf8') ?? '');
    this.#first = undefined;
    this.#rest = undefined;
    let result: T;
    try {
      result = this.handling.complete(
        this.callAbort,
        this.request,
        this.#status,
        text,
        truncated,
        this.#rawHeaders,
      );
    } catch (error) {
      this.reject(this.handling.fail(this.callAbort, this.request, error, true));
      return;
    }
    this.resolve(result);
  }
}
