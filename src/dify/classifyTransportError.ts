import { DifyApiError } from '../core/DifyApiError.js';

/** Where in a call a transport error struck. */
export interface TransportErrorContext {
  /** `request`: before the response headers; `body`: while reading the body. */
  readonly phase: 'request' | 'body';
  readonly streaming: boolean;
  /** The timeouts in force, quoted in messages. */
  readonly timeouts: { readonly connectMs: number; readonly firstByteMs: number; readonly idleMs: number };
  /** Removes the client's own key from undici's text. */
  readonly scrub: (text: string) => string;
}

// Connection-level failures: the request may not have reached Dify, or its answer was lost.
const NETWORK_CODES = new Set([
  'UND_ERR_SOCKET',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
]);

// Failures before the request could reach Dify: never run there, never billed.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Maps what undici throws to a {@link DifyApiError}: its three timeouts to a retryable
 * `ERR_DIFY_TIMEOUT`, connection failures to a retryable `ERR_DIFY_NETWORK` (or `ERR_DIFY_STREAM` when an
 * SSE body breaks), anything else to a final `ERR_INTERNAL`.
 *
 * Every failure that may have struck after the request was sent (waiting for headers, a reset or a
 * close of a connected socket, any failure while reading the body) is `ambiguous`: Dify may have run
 * the call. Only connect failures (refused, unresolvable, connect timeout, a write that failed) are not.
 *
 * @remarks
 * The undici error is never attached as-is: some carry the request (headers included, so the API key)
 * or a socket. The `cause` is a plain `{ name, code, message }` with the message scrubbed.
 */
export function classifyTransportError(error: unknown, context: TransportErrorContext): DifyApiError {
  if (error instanceof DifyApiError) return error;
  const { phase, streaming, timeouts, scrub } = context;
  const code = errorCode(error);
  const text = scrub(errorText(error, code));
  const cause = { name: error instanceof Error ? error.name : typeof error, code, message: text };
  const ambiguous = phase === 'body' || code === undefined || !NOT_SENT_CODES.has(code);
  const timeout = (message: string) =>
    new DifyApiError({ code: 'ERR_DIFY_TIMEOUT', message, retryable: true, ambiguous, cause });
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return timeout(`Could not connect to Dify within timeouts.connectMs (${timeouts.connectMs} ms)`);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return timeout(
        `No response headers from Dify within timeouts.firstByteMs (${timeouts.firstByteMs} ms)`,
      );
    case 'UND_ERR_BODY_TIMEOUT':
      return timeout(
        `No data from Dify for timeouts.idleMs (${timeouts.idleMs} ms) while reading the response`,
      );
  }
  if (code !== undefined && NETWORK_CODES.has(code)) {
    if (phase === 'body' && streaming) {
      return new DifyApiError({
        code: 'ERR_DIFY_STREAM',
        message: `Stream broke before a terminal event: ${text}`,
        retryable: true,
        ambiguous,
        cause,
      });
    }
    const where = phase === 'body' ? 'while reading the response' : 'before a response';
    return new DifyApiError({
      code: 'ERR_DIFY_NETWORK',
      message: `Network error ${where}: ${text}`,
      retryable: true,
      ambiguous,
      cause,
    });
  }
  return new DifyApiError({
    code: 'ERR_INTERNAL',
    message: `Unexpected error: ${text}`,
    retryable: false,
    cause,
  });
}

function errorCode(error: unknown): string | undefined {
  const read = (value: unknown) =>
    typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string'
      ? (value as { code: string }).code
      : undefined;
  return read(error) ?? read((error as { cause?: unknown } | null)?.cause);
}

function errorText(error: unknown, code: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  // Happy-eyeballs connects fail with an AggregateError whose message is empty.
  if (!message) return code ?? 'unknown error';
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
