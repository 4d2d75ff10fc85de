import { STATUS_CODES } from 'node:http';
import { DifyApiError } from '../core/DifyApiError.js';
import type { ErrorCode } from '../core/DifyBatchError.js';
import { isConcurrencyLimitError } from './isConcurrencyLimitError.js';
import { parseRetryAfter } from './parseRetryAfter.js';
import { tryParseObject } from './toDifyResult.js';

/** A non-2xx answer, its body already read (up to a limit). */
export interface DifyErrorResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** The body text as read; may be cut short (see `truncated`). */
  readonly body: string;
  /** The body was longer than what was read. */
  readonly truncated?: boolean;
}

/** Context for {@link classifyResponse}. */
export interface ClassifyOptions {
  /** The current time, to read a `Retry-After` date. @defaultValue Date.now() */
  readonly nowMs?: number;
  /** Removes secrets the caller knows of (the client's own key) from server-supplied text. @defaultValue identity */
  readonly scrub?: (text: string) => string;
  /** The URL that was called, quoted when a 404 says the route does not exist. @defaultValue undefined */
  readonly url?: string | undefined;
}

/** Dify answers 5xx for transient trouble (overload, proxy timeouts); these are worth another try. */
const RETRYABLE_STATUSES = new Set([500, 502, 503, 504]);
const SNIPPET_CHARS = 80;

/**
 * Our code and retryability for a Dify error, from its status, Dify `code` and message.
 * Used for HTTP answers and for SSE `error` events alike.
 * @since 0.1.0
 * @category client
 */
export function classifyStatus(
  status: number,
  difyCode: string | undefined,
  message: string | undefined,
): { readonly code: ErrorCode; readonly retryable: boolean } {
  if (status === 429 || isConcurrencyLimitError({ status, difyCode, message })) {
    return { code: 'ERR_DIFY_RATE_LIMITED', retryable: true };
  }
  if (status === 401 || status === 403) return { code: 'ERR_DIFY_AUTH', retryable: false };
  // Dify answers routes it does not know with Flask's HTML 404; its own 404s (a conversation, a
  // workflow version) are JSON with a `code` and concern one record.
  if (status === 404 && difyCode === undefined) return { code: 'ERR_DIFY_ROUTE', retryable: false };
  return { code: 'ERR_DIFY_HTTP', retryable: RETRYABLE_STATUSES.has(status) };
}

/**
 * Maps a non-2xx Dify answer to a {@link DifyApiError}.
 *
 * @remarks
 * - `message` is Dify's own `message` when the body is Dify's JSON `{code, message, status}`; for any
 *   other body (an nginx HTML 502, a Cloudflare page) it is `HTTP 502 Bad Gateway (non-JSON body: "…")`.
 * - Retryable: 429 and the app concurrency limit (400 `invalid_param` / 429 `too_many_requests`,
 *   message `Too many requests.…`) as `ERR_DIFY_RATE_LIMITED`; 500/502/503/504 as `ERR_DIFY_HTTP`.
 * - Fatal for a whole run (no retry can fix them): 401/403 as `ERR_DIFY_AUTH` ("the API key was
 *   rejected (401 …)"), a 404 without Dify's JSON body (a route that does not exist) as
 *   `ERR_DIFY_ROUTE` ("404 from <url>: the base URL probably lacks /v1").
 *   Every other status is a final `ERR_DIFY_HTTP`.
 * - `retryAfterMs` comes from `Retry-After` (seconds or an HTTP date), whatever the status.
 * @since 0.1.0
 * @category client
 */
export function classifyResponse(response: DifyErrorResponse, options: ClassifyOptions = {}): DifyApiError {
  const { status } = response;
  const scrub = options.scrub ?? ((text: string) => text);
  const header = response.headers?.['retry-after'];
  const retryAfterMs = parseRetryAfter(header, options.nowMs ?? Date.now());
  const statusLine = `HTTP ${status} ${STATUS_CODES[status] ?? 'Unknown Status'}`;
  const json = tryParseObject(response.body);
  const difyCode = typeof json?.code === 'string' ? json.code : undefined;
  const difyMessage = typeof json?.message === 'string' ? json.message : undefined;
  const classified = classifyStatus(status, difyCode, difyMessage);
  const detail = json
    ? (difyMessage ?? statusLine)
    : `${statusLine} (${describeBody(response.body, response.truncated === true)})`;
  let message = detail;
  if (classified.code === 'ERR_DIFY_AUTH') {
    const what = status === 401 ? 'the API key was rejected' : 'the app refused the API key';
    message = `${what} (${status} ${difyCode ?? STATUS_CODES[status]}: ${difyMessage ?? detail})`;
  } else if (classified.code === 'ERR_DIFY_ROUTE') {
    message = `404 from ${options.url ?? 'Dify'}: the base URL probably lacks /v1 (${detail})`;
  }
  return new DifyApiError({
    ...classified,
    message: scrub(message),
    status,
    difyCode,
    retryAfterMs,
  });
}

function describeBody(body: string, truncated: boolean): string {
  const text = body.replace(/\s+/g, ' ').trim();
  if (text === '') return 'empty body';
  const cut = truncated || text.length > SNIPPET_CHARS;
  return `non-JSON body: "${cut ? `${text.slice(0, SNIPPET_CHARS)}…` : text}"${cut ? ' truncated' : ''}`;
}
