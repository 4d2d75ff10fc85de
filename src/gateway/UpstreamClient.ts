import { type Dispatcher, Pool } from 'undici';
import { DifyApiError } from '../core/DifyApiError.js';
import { classifyResponse } from '../dify/classifyResponse.js';
import { classifyTransportError } from '../dify/classifyTransportError.js';
import { DIFY_CLIENT_DEFAULTS } from '../dify/DifyClient.js';
import type { DifyAppKind } from '../dify/DifyRequest.js';
import { readLimitedText } from '../dify/readLimitedText.js';

/** What one upstream call sends: the app route, Dify's JSON body, the Authorization to use. */
export interface UpstreamCall {
  readonly app: DifyAppKind;
  /** Dify's request body (dify-api.md §2), already a JSON string. */
  readonly body: string;
  /** `Bearer <key>`: the caller's or the gateway's own. */
  readonly authorization: string;
  /** Extra headers (trace context); never overrides the ones above. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
}

/** Dify's blocking answer, parsed: passed to the gateway's caller as it is. */
export type UpstreamBody = Record<string, unknown>;

const ROUTES: Record<DifyAppKind, string> = {
  workflow: '/workflows/run',
  completion: '/completion-messages',
  chat: '/chat-messages',
};

/** Error bodies are only read for their message. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * Blocking calls to one upstream Dify, returning Dify's JSON body untouched (the gateway passes it to
 * its callers as `data`), on one undici Pool shared by every caller of the gateway.
 *
 * @remarks
 * DifyClient normalises answers into a `DifyResult` and holds one key; the gateway needs Dify's own body
 * and the caller's key per call, so it makes the HTTP call itself and reuses DifyClient's error mapping
 * (`classifyResponse`, `classifyTransportError`), timeouts and body limit. Only `origin` is ever called.
 * Errors are {@link DifyApiError}s with every bearer token and the call's key scrubbed.
 */
export class UpstreamClient {
  readonly #pool: Dispatcher;
  readonly #origin: string;
  readonly #prefix: string;
  readonly #timeouts = DIFY_CLIENT_DEFAULTS.timeouts;
  readonly #maxResponseBytes = DIFY_CLIENT_DEFAULTS.maxResponseBytes;

  /** `baseUrl` is the Service API base, `/v1` included; `connections` sizes the keep-alive pool. */
  constructor(baseUrl: URL, connections: number) {
    this.#origin = baseUrl.origin;
    this.#prefix = baseUrl.pathname.replace(/\/+$/, '');
    this.#pool = new Pool(this.#origin, {
      connections,
      connect: { timeout: this.#timeouts.connectMs },
      headersTimeout: this.#timeouts.firstByteMs,
      bodyTimeout: this.#timeouts.idleMs,
    });
  }

  /** One blocking call. Rejects with a DifyApiError, or with `signal.reason` on abort. */
  async call(call: UpstreamCall): Promise<UpstreamBody> {
    const { signal } = call;
    signal.throwIfAborted();
    const key = call.authorization.replace(/^bearer\s+/i, '');
    const scrub = (text: string): string => (key === '' ? text : text.split(key).join('[REDACTED]'));
    let phase: 'request' | 'body' = 'request';
    try {
      const response = await this.#pool.request({
        origin: this.#origin,
        path: this.#prefix + ROUTES[call.app],
        method: 'POST',
        headers: {
          ...call.headers,
          authorization: call.authorization,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: call.body,
        signal,
      });
      phase = 'body';
      const { statusCode: status, headers } = response;
      const limit = status >= 200 && status < 300 ? this.#maxResponseBytes : ERROR_BODY_LIMIT;
      const { text, truncated } = await readLimitedText(response.body, limit, headers['content-length']);
      if (status < 200 || status >= 300) {
        throw withDifyMessage(
          classifyResponse({ status, headers, body: text, truncated }, { scrub }),
          text,
          scrub,
        );
      }
      if (truncated) {
        const message = `Dify response exceeded ${this.#maxResponseBytes} bytes`;
        throw new DifyApiError({ code: 'ERR_DIFY_BAD_RESPONSE', message, status, retryable: false });
      }
      return parseBody(text, status, scrub);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw classifyTransportError(error, { phase, streaming: false, timeouts: this.#timeouts, scrub });
    }
  }

  /** Closes the pool, waiting for calls in flight. */
  close(): Promise<void> {
    return this.#pool.close();
  }
}

function parseBody(text: string, status: number, scrub: (text: string) => string): UpstreamBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    const snippet = scrub(text.slice(0, 80));
    const message = `Dify's HTTP ${status} body is not a JSON object: "${snippet}"`;
    throw new DifyApiError({ code: 'ERR_DIFY_BAD_RESPONSE', message, status, retryable: false });
  }
  return json as UpstreamBody;
}

/**
 * The gateway passes Dify's own error message through: `classifyResponse` rewords run-fatal answers
 * (401/403, unknown routes) for a CLI user, but a gateway caller expects Dify's body, code and message.
 */
function withDifyMessage(error: DifyApiError, body: string, scrub: (text: string) => string): DifyApiError {
  let message: unknown;
  try {
    message = (JSON.parse(body) as { message?: unknown } | null)?.message;
  } catch {
    return error;
  }
  if (typeof message !== 'string' || message === error.message) return error;
  return error.with({ message: scrub(message) });
}
