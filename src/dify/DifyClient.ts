import { openAsBlob } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Readable } from 'node:stream';
import { createParser } from 'eventsource-parser';
import { type Dispatcher, FormData, Pool, util } from 'undici';
import { DifyApiError } from '../core/DifyApiError.js';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { checkOption } from '../internal/checkOption.js';
import type { CallAbort } from './CallAbort.js';
import { type CallDeadline, CallDeadlines } from './CallDeadlines.js';
import { classifyResponse } from './classifyResponse.js';
import { classifyTransportError } from './classifyTransportError.js';
import { collectResponse, type ResponseHandling } from './collectResponse.js';
import type { DifyCallOptions, DifyRequest, DifyResult, DifyTransport } from './DifyRequest.js';
import { DifyStreamCollector } from './DifyStreamCollector.js';
import { mimeTypeOf } from './fileTypeOf.js';
import { readLimitedText } from './readLimitedText.js';
import { resolveDifyClientOptions } from './resolveDifyClientOptions.js';
import { parseJsonObject, toDifyResult } from './toDifyResult.js';

/** The four deadlines of one call. `0` disables a deadline. */
export interface DifyClientTimeouts {
  /** TCP (and TLS) connect. Ignored with an injected `dispatcher`, which owns its connections. @defaultValue 10000 */
  readonly connectMs?: number;
  /**
   * From sending the request to the response headers (undici `headersTimeout`). In blocking mode Dify
   * sends its headers only when the run is over, so this bounds the whole blocking run. Unset, it is
   * min(300000, `totalMs`), so `totalMs` bounds the wait for the first byte too.
   * @defaultValue 300000
   */
  readonly firstByteMs?: number;
  /**
   * Longest silence while reading a body (undici `bodyTimeout`): between SSE chunks, pings included.
   * Dify pings about every 10 s while a run works and closes idle streams after 300 s. Unset, it is
   * min(60000, `totalMs`).
   * @defaultValue 60000
   */
  readonly idleMs?: number;
  /** The whole call, body included. Dify stops runs after 1200 s. @defaultValue 600000 */
  readonly totalMs?: number;
}

export interface DifyClientOptions {
  /** Service API base URL, `/v1` included: `https://api.dify.ai/v1`, `http://127.0.0.1:5001/v1`. */
  readonly baseUrl: string;
  /** The app key (`app-…`), sent as `Authorization: Bearer <key>`. Never appears in an error. */
  readonly apiKey: string;
  /** Keep-alive connections to Dify; size it to the caller's concurrency. Ignored with `dispatcher`. @defaultValue 10 */
  readonly connections?: number;
  /** Per-call deadlines; each field falls back to its own default. @defaultValue DIFY_CLIENT_DEFAULTS.timeouts */
  readonly timeouts?: DifyClientTimeouts;
  /** The most bytes read from one response body (blocking JSON or a whole SSE stream). @defaultValue 16777216 */
  readonly maxResponseBytes?: number;
  /**
   * Send through this undici dispatcher (a `Pool`, `Agent`, `MockAgent`…) instead of a Pool of our own.
   * The caller owns it: {@link DifyClient.close} leaves it open.
   * @defaultValue undefined (the client creates and closes its own `Pool`)
   */
  readonly dispatcher?: Dispatcher;
  /**
   * Extra request headers, asked for at the start of each call (e.g. `traceHeaders` for OpenTelemetry's
   * `traceparent`). They never replace `authorization`, `content-type` or `accept`.
   * @defaultValue undefined
   */
  readonly headers?: ((request: DifyRequest) => Readonly<Record<string, string>> | undefined) | undefined;
}

/**
 * The defaults of {@link DifyClientOptions}, applied in exactly one place.
 * @since 0.1.0
 * @category client
 */
export const DIFY_CLIENT_DEFAULTS = Object.freeze({
  connections: 10,
  maxResponseBytes: 16 * 1024 * 1024,
  timeouts: Object.freeze({ connectMs: 10_000, firstByteMs: 300_000, idleMs: 60_000, totalMs: 600_000 }),
});

/** `POST /files/upload`'s 201 body, as dify-batch uses it. */
export interface DifyUploadedFile {
  /** The `upload_file_id` of a `local_file` input. */
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly extension: string;
  readonly mimeType: string;
}

/** Options of {@link DifyClient.uploadFile}. */
export interface DifyUploadOptions {
  /** The end user the file belongs to (Dify's `user` form field); use the runs' `user`. */
  readonly user: string;
  readonly signal?: AbortSignal | undefined;
  /** The file name Dify stores (and a workflow sees). @defaultValue the path's base name; required for a stream */
  readonly filename?: string | undefined;
  /** The part's content type. @defaultValue from the extension (`application/octet-stream` if unknown) */
  readonly mimeType?: string | undefined;
}

/** Error bodies are only read for their message. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** How long to wait for the end of a stream after its terminal event (see `drainTail`). */
const TAIL_MS = 200;

const ROUTES = {
  workflow: '/workflows/run',
  completion: '/completion-messages',
  chat: '/chat-messages',
} as const;

/**
 * Calls one Dify app (workflow, completion or chat) over the Service API, blocking or streaming, and
 * returns the same {@link DifyResult} either way.
 *
 * @remarks
 * - Transport: an undici `Pool` of `connections` keep-alive connections (or an injected `dispatcher`).
 * - Errors: every failure rejects with a {@link DifyApiError} whose `code`, `retryable` and `retryAfterMs`
 *   follow dify-api.md (see `classifyResponse`); an SSE `error` event ends the call at once. Messages
 *   never contain the API key.
 * - Cancellation: the caller's `signal` rejects the call with `signal.reason` unchanged; no listener is
 *   left on it afterwards. Timeouts reject with a retryable `ERR_DIFY_TIMEOUT`.
 * @example
 * ```ts
 * import { DifyClient } from 'dify-batch';
 * import { startEmulator } from 'dify-batch/emulator';
 *
 * const emulator = await startEmulator();
 * const client = new DifyClient({ baseUrl: emulator.url, apiKey: 'app-EmulatorWorkflowKey00001' });
 * const result = await client.run({ app: 'workflow', inputs: { query: 'hi' }, user: 'u1', responseMode: 'streaming' });
 * console.log(Object.keys(result.outputs).length > 0);
 * await client.close();
 * await emulator.close();
 * // Output: true
 * ```
 * @since 0.1.0
 * @category client
 */
export class DifyClient {
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #origin: string;
  readonly #pathPrefix: string;
  readonly #apiKey: string;
  readonly #timeouts: Required<DifyClientTimeouts>;
  readonly #maxResponseBytes: number;
  readonly #scrub: (text: string) => string;
  readonly #headers: DifyClientOptions['headers'];
  /** The fixed headers of a run: blocking, streaming. */
  readonly #runHeaders: readonly [Readonly<Record<string, string>>, Readonly<Record<string, string>>];
  /** Every call's total deadline and link to the caller's signal (one timer, one listener per signal). */
  readonly #deadlines: CallDeadlines;
  /** What a blocking run does with its response (built once: collectResponse shares it across calls). */
  readonly #blocking: ResponseHandling<CallDeadline, DifyRequest, DifyResult>;
  #closed = false;

  /** {@link DifyClient.run}, bound: pass it wherever a {@link DifyTransport} is expected. */
  readonly transport: DifyTransport = (request, options) => this.run(request, options);

  /** @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad option; the key is never quoted. */
  constructor(options: DifyClientOptions) {
    const resolved = resolveDifyClientOptions(options, DIFY_CLIENT_DEFAULTS);
    this.#origin = resolved.url.origin;
    this.#pathPrefix = resolved.url.pathname.replace(/\/+$/, '');
    this.#apiKey = resolved.apiKey;
    this.#timeouts = resolved.timeouts;
    this.#deadlines = new CallDeadlines(resolved.timeouts.totalMs);
    this.#maxResponseBytes = resolved.maxResponseBytes;
    this.#ownsDispatcher = resolved.dispatcher === undefined;
    this.#dispatcher =
      resolved.dispatcher ??
      new Pool(this.#origin, {
        connections: resolved.connections,
        connect: { timeout: resolved.timeouts.connectMs },
        headersTimeout: resolved.timeouts.firstByteMs,
        bodyTimeout: resolved.timeouts.idleMs,
      });
    this.#headers = resolved.headers;
    const run = (accept: string) =>
      Object.freeze({
        authorization: `Bearer ${this.#apiKey}`,
        'content-type': 'application/json',
        accept,
      });
    this.#runHeaders = [run('application/json'), run('text/event-stream')];
    const key = this.#apiKey;
    this.#scrub = (text) => text.split(key).join('[REDACTED]');
    const maxBytes = this.#maxResponseBytes;
    const errorBodyLimit = Math.min(ERROR_BODY_LIMIT, maxBytes);
    this.#blocking = {
      limitOf: (status) => (status >= 200 && status < 300 ? maxBytes : errorBodyLimit),
      complete: (deadline, request, status, text, truncated, rawHeaders) => {
        deadline.dispose();
        if (status < 200 || status >= 300) {
          throw classifyResponse(
            { status, headers: util.parseHeaders(rawHeaders as Buffer[]), body: text, truncated },
            { scrub: this.#scrub, url: this.#origin + this.#pathPrefix + routeOf(request) },
          );
        }
        if (truncated) throw this.#tooLarge();
        return toDifyResult(
          request.app,
          parseJsonObject(text, `Dify's HTTP ${status} body`, this.#scrub, status),
          this.#scrub,
        );
      },
      fail: (deadline, _request, error, bodyStarted) => {
        deadline.dispose();
        const signal = deadline.callerSignal;
        if (signal?.aborted) return signal.reason;
        return this.#callError(deadline, error, bodyStarted ? 'body' : 'request', false);
      },
    };
  }

  /**
   * Runs the app once.
   * @throws DifyApiError on any failure of the call (see the class remarks); `ERR_INPUT_INVALID` when the
   *   request cannot be sent at all; the caller's `signal.reason` when it aborts.
   */
  run(request: DifyRequest, options: DifyCallOptions = {}): Promise<DifyResult> {
    const { signal } = options;
    let path: string;
    let body: string;
    try {
      signal?.throwIfAborted();
      if (this.#closed) throw new DifyBatchError('ERR_INTERNAL', 'DifyClient.run() called after close()');
      path = this.#pathPrefix + routeOf(request);
      body = bodyOf(request);
    } catch (error) {
      return Promise.reject(error);
    }
    if (request.responseMode === 'streaming') return this.#runStreaming(request, path, body, options);
    let dispatch: Dispatcher.DispatchOptions;
    try {
      dispatch = this.#requestOptions(request, path, body, false);
    } catch (error) {
      // The `headers` hook threw: reported as the streaming path (and this one, before) reports it.
      return Promise.reject(
        signal?.aborted
          ? signal.reason
          : classifyTransportError(error, {
              phase: 'request',
              streaming: false,
              timeouts: this.#timeouts,
              scrub: this.#scrub,
            }),
      );
    }
    // Blocking: the whole body is wanted, so it is collected straight from undici's parser and the
    // result built there; the call is one Promise, settled by `#blocking` (which ends the deadline).
    return collectResponse(
      this.#dispatcher,
      dispatch,
      this.#deadlines.start(signal),
      request,
      this.#blocking,
    );
  }

  async #runStreaming(
    request: DifyRequest,
    path: string,
    body: string,
    options: DifyCallOptions,
  ): Promise<DifyResult> {
    const deadline = this.#deadlines.start(options.signal);
    const phase: CallState = { current: 'request', onWorkflowStarted: options.onWorkflowStarted };
    try {
      return await this.#sendStreaming(request, path, body, deadline, phase);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw withRunIds(this.#callError(deadline, error, phase.current, true), phase);
    } finally {
      deadline.dispose();
    }
  }

  /** The error a failed run rejects with unless the caller aborted it: the total deadline, or Dify's/undici's error. */
  #callError(
    deadline: CallDeadline,
    error: unknown,
    phase: 'request' | 'body',
    streaming: boolean,
  ): DifyApiError {
    if (deadline.timedOut) {
      const message = `Dify call did not finish within timeouts.totalMs (${this.#timeouts.totalMs} ms)`;
      // We cannot tell whether the request got out before the deadline: assume it did.
      return new DifyApiError({ code: 'ERR_DIFY_TIMEOUT', message, retryable: true, ambiguous: true });
    }
    return classifyTransportError(error, {
      phase,
      streaming,
      timeouts: this.#timeouts,
      scrub: this.#scrub,
    });
  }

  /** The options of one run's request; the headers are built once per client unless `headers` adds per-call ones. */
  #requestOptions(
    request: DifyRequest,
    path: string,
    body: string,
    streaming: boolean,
  ): Dispatcher.DispatchOptions {
    const fixed = this.#runHeaders[streaming ? 1 : 0];
    return {
      origin: this.#origin,
      path,
      method: 'POST',
      // undici only reads them.
      headers: this.#headers === undefined ? fixed : { ...this.#headers(request), ...fixed },
      body,
      headersTimeout: this.#timeouts.firstByteMs,
      bodyTimeout: this.#timeouts.idleMs,
    };
  }

  /**
   * Uploads one file (`POST /files/upload`, multipart `file` + `user`) for use as a `local_file` input.
   *
   * @remarks A path is streamed from disk (a Blob from `fs.openAsBlob`, never read whole into memory)
   * with its length known up front; a stream is sent as it comes (chunked), and since it cannot be
   * replayed the caller retries by passing a new one. Errors are {@link DifyApiError}s as for runs:
   * 413 `file_too_large` and 415 `unsupported_file_type` are final, network errors and 5xx retryable.
   * @throws DifyApiError; the caller's `signal.reason` on abort.
   */
  async uploadFile(file: string | Readable, options: DifyUploadOptions): Promise<DifyUploadedFile> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (this.#closed)
      throw new DifyBatchError('ERR_INTERNAL', 'DifyClient.uploadFile() called after close()');
    const filename = options.filename ?? (typeof file === 'string' ? basename(file) : undefined);
    checkOption(
      filename !== undefined && filename !== '',
      'filename',
      'a file name (required when uploading a stream)',
      filename,
    );
    const mimeType = options.mimeType ?? mimeTypeOfName(filename);
    const body =
      typeof file === 'string'
        ? await formOf(file, filename, mimeType, options.user)
        : multipartStream(file, filename, mimeType, options.user);
    const json = await this.#call('POST', '/files/upload', body, signal, {
      'content-type': typeof file === 'string' ? undefined : `multipart/form-data; boundary=${BOUNDARY}`,
    });
    const { id, name, size, extension, mime_type: mime } = json;
    if (typeof id !== 'string' || typeof size !== 'number') {
      throw new DifyApiError({
        code: 'ERR_DIFY_BAD_RESPONSE',
        message: 'Dify answered POST /files/upload without an id and size',
        retryable: false,
      });
    }
    return {
      id,
      name: typeof name === 'string' ? name : filename,
      size,
      extension: typeof extension === 'string' ? extension : extname(filename).slice(1),
      mimeType: typeof mime === 'string' ? mime : mimeType,
    };
  }

  /**
   * `GET /parameters`: the app's input form (`user_input_form`), file limits (`system_parameters`)
   * and features, parsed. Read it with `readFileVariables` for the file variables.
   * @throws DifyApiError; the caller's `signal.reason` on abort.
   */
  async parameters(
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<Record<string, unknown>> {
    options.signal?.throwIfAborted();
    return this.#call('GET', '/parameters', undefined, options.signal, {});
  }

  /** A small JSON exchange (upload, parameters) under the call deadlines, errors as for runs. */
  async #call(
    method: 'GET' | 'POST',
    route: string,
    body: FormData | AsyncIterable<Uint8Array> | undefined,
    signal: AbortSignal | undefined,
    headers: Readonly<Record<string, string | undefined>>,
  ): Promise<Record<string, unknown>> {
    const path = this.#pathPrefix + route;
    const { totalMs } = this.#timeouts;
    const deadline = this.#deadlines.start(signal);
    const call = deadline;
    let phase: 'request' | 'body' = 'request';
    try {
      const sent: Record<string, string> = {
        authorization: `Bearer ${this.#apiKey}`,
        accept: 'application/json',
      };
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) sent[name] = value;
      const response = await this.#dispatcher.request({
        origin: this.#origin,
        path,
        method,
        headers: sent,
        body: body as Dispatcher.DispatchOptions['body'],
        signal: call,
        headersTimeout: this.#timeouts.firstByteMs,
        bodyTimeout: this.#timeouts.idleMs,
      });
      phase = 'body';
      const { statusCode: status, headers: got } = response;
      const limit = status >= 200 && status < 300 ? this.#maxResponseBytes : ERROR_BODY_LIMIT;
      const { text, truncated } = await readLimitedText(response.body, limit, got['content-length']);
      if (status < 200 || status >= 300) {
        throw classifyResponse(
          { status, headers: got, body: text, truncated },
          { scrub: this.#scrub, url: this.#origin + path },
        );
      }
      if (truncated) throw this.#tooLarge();
      return parseJsonObject(text, `Dify's HTTP ${status} body`, this.#scrub, status);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof DifyApiError) throw error;
      if (deadline.timedOut) {
        const message = `Dify ${method} ${route} did not finish within timeouts.totalMs (${totalMs} ms)`;
        throw new DifyApiError({ code: 'ERR_DIFY_TIMEOUT', message, retryable: true });
      }
      throw classifyTransportError(error, {
        phase,
        streaming: false,
        timeouts: this.#timeouts,
        scrub: this.#scrub,
      });
    } finally {
      deadline.dispose();
    }
  }

  /** Closes the client's own Pool (waiting for calls in flight); an injected dispatcher is left open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  async #sendStreaming(
    request: DifyRequest,
    path: string,
    body: string,
    signal: CallAbort,
    phase: CallState,
  ): Promise<DifyResult> {
    const options = this.#requestOptions(request, path, body, true);
    const response = await this.#dispatcher.request({ ...options, signal });
    phase.current = 'body';
    const { statusCode: status, headers } = response;
    if (status < 200 || status >= 300) {
      const { text, truncated } = await readLimitedText(
        response.body,
        Math.min(ERROR_BODY_LIMIT, this.#maxResponseBytes),
        headers['content-length'],
      );
      throw classifyResponse(
        { status, headers, body: text, truncated },
        { scrub: this.#scrub, url: this.#origin + path },
      );
    }
    if (String(headers['content-type']).includes('text/event-stream')) {
      return this.#readStream(request, response.body, phase);
    }
    // A stream request that Dify answered with one JSON body.
    const { text, truncated } = await readLimitedText(
      response.body,
      this.#maxResponseBytes,
      headers['content-length'],
    );
    if (truncated) throw this.#tooLarge();
    const json = parseJsonObject(text, `Dify's HTTP ${status} body`, this.#scrub, status);
    return toDifyResult(request.app, json, this.#scrub);
  }

  async #readStream(
    request: DifyRequest,
    body: Dispatcher.ResponseData['body'],
    state: CallState,
  ): Promise<DifyResult> {
    const collector = new DifyStreamCollector(request.app, this.#scrub);
    state.collector = collector;
    let outcome: { readonly result: DifyResult } | { readonly error: unknown } | undefined;
    const parser = createParser({
      maxBufferSize: this.#maxResponseBytes,
      onEvent: (message) => {
        if (outcome !== undefined || message.data === '') return;
        try {
          const event = parseJsonObject(message.data, 'An SSE event from Dify', this.#scrub);
          // The run id is known from here on: a crashed caller can poll the run instead of re-running it.
          if (state.onWorkflowStarted !== undefined && event.event === 'workflow_started') {
            if (typeof event.workflow_run_id === 'string') state.onWorkflowStarted(event.workflow_run_id);
          }
          const result = collector.push(event);
          if (result) outcome = { result };
        } catch (error) {
          outcome = { error };
        }
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') outcome ??= { error: this.#tooLarge() };
      },
    });
    const decoder = new TextDecoder();
    const iterator = body[Symbol.asyncIterator]();
    let size = 0;
    let chunks = 0;
    while (outcome === undefined) {
      const next = await iterator.next();
      if (next.done) break;
      size += next.value.byteLength;
      if (size > this.#maxResponseBytes) outcome = { error: this.#tooLarge() };
      else parser.feed(decoder.decode(next.value, { stream: true }));
      chunks += 1;
    }
    if (outcome === undefined) {
      const message = `Dify stream ended before a terminal event (${size} bytes in ${chunks} chunks)`;
      throw new DifyApiError({ code: 'ERR_DIFY_STREAM', message, retryable: true, ambiguous: true });
    }
    if ('error' in outcome) {
      // Dify 1.13 never closes a stream after an `error` event: close it ourselves, now.
      body.destroy();
      throw outcome.error;
    }
    await drainTail(iterator, body);
    return outcome.result;
  }

  #tooLarge(): DifyApiError {
    const message = `Dify response exceeded maxResponseBytes (${this.#maxResponseBytes} bytes)`;
    return new DifyApiError({ code: 'ERR_DIFY_BAD_RESPONSE', message, retryable: false });
  }
}

/** Where one call got to: the phase, and for a stream, what it has seen so far. */
interface CallState {
  current: 'request' | 'body';
  collector?: DifyStreamCollector;
  /** DifyCallOptions.onWorkflowStarted, told at the `workflow_started` event. */
  readonly onWorkflowStarted?: ((workflowRunId: string) => void) | undefined;
}

/**
 * The error with the run and task ids the stream showed before it failed (dify-api.md: a workflow run
 * goes on after the client is gone, and `GET /workflows/run/{id}` can recover its result).
 */
function withRunIds(error: DifyApiError, state: CallState): DifyApiError {
  const ids = state.collector?.ids;
  if (ids === undefined || (ids.workflowRunId === undefined && ids.taskId === undefined)) return error;
  if (error.workflowRunId !== undefined || error.taskId !== undefined) return error;
  return error.with({ workflowRunId: ids.workflowRunId, taskId: ids.taskId });
}

/**
 * The terminal event is usually followed at once by the end of the response; reading that end lets
 * undici return the connection to the pool instead of closing it. A stream that stays open is cut
 * after {@link TAIL_MS}; the result stands either way.
 */
async function drainTail(iterator: AsyncIterator<unknown>, body: { destroy(): unknown }): Promise<void> {
  const timer = setTimeout(() => body.destroy(), TAIL_MS);
  try {
    while (!(await iterator.next()).done) {
      // discard: events after the terminal one carry nothing we return
    }
  } catch {
    // cut or broken after the terminal event: nothing is lost
  } finally {
    clearTimeout(timer);
  }
}

const BOUNDARY = '----dify-batch-7c1f0e2a9b4d';

function mimeTypeOfName(filename: string): string {
  return mimeTypeOf(extname(filename));
}

/** A path as a multipart form: the Blob reads the file as undici sends it. */
async function formOf(path: string, filename: string, mimeType: string, user: string): Promise<FormData> {
  const form = new FormData();
  form.append('file', await openAsBlob(path, { type: mimeType }), filename);
  form.append('user', user);
  return form;
}

/** A stream as a multipart body, chunk by chunk (`user` first, then the file part). */
async function* multipartStream(
  file: Readable,
  filename: string,
  mimeType: string,
  user: string,
): AsyncGenerator<Uint8Array> {
  const quoted = (text: string) => text.replace(/["\\\r\n]/g, (c) => encodeURIComponent(c));
  yield Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="user"\r\n\r\n${user}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${quoted(filename)}"\r\n` +
      `Content-Type: ${mimeType}\r\n\r\n`,
  );
  for await (const chunk of file)
    yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
  yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
}

function routeOf(request: DifyRequest): string {
  const route: string | undefined = ROUTES[request.app];
  if (route === undefined) {
    throw new DifyBatchError(
      'ERR_INPUT_INVALID',
      `DifyRequest.app must be "workflow", "completion" or "chat", got ${JSON.stringify(request.app)}`,
    );
  }
  return request.app === 'workflow' && request.workflowId !== undefined
    ? `/workflows/${encodeURIComponent(request.workflowId)}/run`
    : route;
}

/** The JSON body of dify-api.md §2; optional fields are sent only when set and meaningful for the app. */
function bodyOf(request: DifyRequest): string {
  const body: Record<string, unknown> = {
    inputs: request.inputs,
    response_mode: request.responseMode,
    user: request.user,
  };
  if (request.app !== 'workflow' && request.query !== undefined) body.query = request.query;
  if (request.app === 'chat' && request.conversationId !== undefined)
    body.conversation_id = request.conversationId;
  if (request.files !== undefined) body.files = request.files;
  try {
    return JSON.stringify(body);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DifyBatchError('ERR_INPUT_INVALID', `DifyRequest.inputs cannot be sent as JSON: ${reason}`);
  }
}
