import { describe, expect, it } from 'vitest';
import { DifyApiError } from '../../src/core/DifyApiError.js';
import type { ErrorCode } from '../../src/core/DifyBatchError.js';
import { classifyOutage } from '../../src/dify/classifyOutage.js';
import { classifyResponse, classifyStatus } from '../../src/dify/classifyResponse.js';
import { classifyTransportError } from '../../src/dify/classifyTransportError.js';
import { concurrencyLimitOf } from '../../src/dify/concurrencyLimitOf.js';
import { isConcurrencyLimitError } from '../../src/dify/isConcurrencyLimitError.js';
import { parseRetryAfter } from '../../src/dify/parseRetryAfter.js';

const LIMIT_MESSAGE =
  'Too many requests. Please try again later. The current maximum concurrent requests allowed for 7f0c is 2.';
const body = (code: string, message: string, status: number) => JSON.stringify({ code, message, status });

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-07-01T00:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter(['2', '9'], now)).toBe(2000);
  });
  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 01 Jul 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Tue, 30 Jun 2026 23:59:00 GMT', now)).toBe(0);
  });
  it('gives undefined for a missing or unreadable header', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
  });
});

describe('isConcurrencyLimitError', () => {
  it('recognises both shapes Dify answers with', () => {
    expect(isConcurrencyLimitError({ status: 400, difyCode: 'invalid_param', message: LIMIT_MESSAGE })).toBe(
      true,
    );
    expect(
      isConcurrencyLimitError({ status: 429, difyCode: 'too_many_requests', message: LIMIT_MESSAGE }),
    ).toBe(true);
  });
  it('rejects look-alikes', () => {
    expect(
      isConcurrencyLimitError({
        status: 400,
        difyCode: 'invalid_param',
        message: 'Arg user must be provided.',
      }),
    ).toBe(false);
    expect(isConcurrencyLimitError({ status: 400, difyCode: 'bad_request', message: LIMIT_MESSAGE })).toBe(
      false,
    );
    expect(isConcurrencyLimitError({ status: 429, difyCode: 'rate_limit_error', message: 'quota' })).toBe(
      false,
    );
    expect(isConcurrencyLimitError({})).toBe(false);
  });
  it('works on the DifyApiError the client throws', () => {
    const error = classifyResponse({ status: 400, body: body('invalid_param', LIMIT_MESSAGE, 400) });
    expect(isConcurrencyLimitError(error)).toBe(true);
  });
});

describe('classifyStatus', () => {
  it.each([
    [429, 'too_many_requests', 'x', 'ERR_DIFY_RATE_LIMITED', true],
    [429, 'rate_limit_error', 'Workflow execution quota limit reached', 'ERR_DIFY_RATE_LIMITED', true],
    [400, 'invalid_param', LIMIT_MESSAGE, 'ERR_DIFY_RATE_LIMITED', true],
    [400, 'invalid_param', 'Arg user must be provided.', 'ERR_DIFY_HTTP', false],
    [401, 'unauthorized', 'Access token is invalid', 'ERR_DIFY_AUTH', false],
    [403, 'forbidden', 'The app no longer exists.', 'ERR_DIFY_AUTH', false],
    [404, undefined, undefined, 'ERR_DIFY_ROUTE', false],
    [404, 'not_found', 'Conversation Not Exists.', 'ERR_DIFY_HTTP', false],
    [405, 'method_not_allowed', 'x', 'ERR_DIFY_HTTP', false],
    [415, 'unsupported_media_type', 'x', 'ERR_DIFY_HTTP', false],
    [500, 'internal_server_error', 'x', 'ERR_DIFY_HTTP', true],
    [501, undefined, undefined, 'ERR_DIFY_HTTP', false],
    [502, undefined, undefined, 'ERR_DIFY_HTTP', true],
    [503, undefined, undefined, 'ERR_DIFY_HTTP', true],
    [504, undefined, undefined, 'ERR_DIFY_HTTP', true],
  ] as const)('%i %s → %s retryable=%s', (status, difyCode, message, code, retryable) => {
    expect(classifyStatus(status, difyCode, message)).toEqual({ code, retryable });
  });
});

describe('classifyResponse', () => {
  it("keeps Dify's code and message", () => {
    const error = classifyResponse({
      status: 401,
      body: body('unauthorized', 'Access token is invalid', 401),
    });
    expect(error).toBeInstanceOf(DifyApiError);
    expect(error).toMatchObject({
      code: 'ERR_DIFY_AUTH',
      status: 401,
      difyCode: 'unauthorized',
      message: 'the API key was rejected (401 unauthorized: Access token is invalid)',
      retryable: false,
      retryAfterMs: undefined,
    });
    const forbidden = classifyResponse({
      status: 403,
      body: body('forbidden', "The app's API service has been disabled.", 403),
    });
    expect(forbidden.message).toBe(
      "the app refused the API key (403 forbidden: The app's API service has been disabled.)",
    );
  });

  it('names the URL of a 404 from a route that does not exist (a base URL without /v1)', () => {
    const error = classifyResponse(
      { status: 404, body: '<!doctype html><title>404 Not Found</title>' },
      { url: 'http://127.0.0.1:5001/workflows/run' },
    );
    expect(error).toMatchObject({ code: 'ERR_DIFY_ROUTE', status: 404, retryable: false });
    expect(error.message).toMatch(
      /^404 from http:\/\/127\.0\.0\.1:5001\/workflows\/run: the base URL probably lacks \/v1 /,
    );
  });

  it('reads Retry-After both ways', () => {
    const nowMs = Date.parse('2026-07-01T00:00:00Z');
    const seconds = classifyResponse(
      { status: 429, headers: { 'retry-after': '7' }, body: body('too_many_requests', 'slow down', 429) },
      { nowMs },
    );
    const date = classifyResponse(
      { status: 503, headers: { 'retry-after': 'Wed, 01 Jul 2026 00:00:02 GMT' }, body: '' },
      { nowMs },
    );
    expect(seconds).toMatchObject({ code: 'ERR_DIFY_RATE_LIMITED', retryable: true, retryAfterMs: 7000 });
    expect(date).toMatchObject({ code: 'ERR_DIFY_HTTP', retryable: true, retryAfterMs: 2000 });
  });

  it('describes a non-JSON body (nginx HTML 502)', () => {
    const html =
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.27.4</center>\r\n</body>\r\n</html>\r\n';
    const error = classifyResponse({ status: 502, body: html });
    expect(error.message).toMatch(
      /^HTTP 502 Bad Gateway \(non-JSON body: "<html> <head><title>502 Bad Gateway.*…" truncated\)$/,
    );
    expect(error).toMatchObject({ status: 502, difyCode: undefined, retryable: true });
    expect(classifyResponse({ status: 404, body: '<p>Not Found</p>' }).message).toBe(
      '404 from Dify: the base URL probably lacks /v1 (HTTP 404 Not Found (non-JSON body: "<p>Not Found</p>"))',
    );
    expect(classifyResponse({ status: 503, body: '' }).message).toBe(
      'HTTP 503 Service Unavailable (empty body)',
    );
    expect(classifyResponse({ status: 500, body: 'oops', truncated: true }).message).toContain(
      '"oops…" truncated',
    );
    expect(classifyResponse({ status: 500, body: '{"detail":1}' }).message).toBe(
      'HTTP 500 Internal Server Error',
    );
  });

  it('scrubs the caller-known secret and anything key-shaped', () => {
    const error = classifyResponse(
      {
        status: 401,
        body: body('unauthorized', 'bad token sk-XYZ-secret and app-abcdefghijklmnopqrstuvwx', 401),
      },
      { scrub: (text) => text.split('sk-XYZ-secret').join('[REDACTED]') },
    );
    expect(error.message).toBe(
      'the API key was rejected (401 unauthorized: bad token [REDACTED] and [REDACTED])',
    );
  });
});

describe('concurrencyLimitOf', () => {
  it("reads N from Dify's concurrency-limit message, and nothing from other errors", () => {
    const message = (n: string) =>
      `Too many requests. Please try again later. The current maximum concurrent requests allowed for 0a1b-2c is ${n}.`;
    expect(concurrencyLimitOf({ status: 400, difyCode: 'invalid_param', message: message('2') })).toBe(2);
    expect(concurrencyLimitOf({ status: 429, difyCode: 'too_many_requests', message: message('10') })).toBe(
      10,
    );
    expect(
      concurrencyLimitOf({ status: 400, difyCode: 'invalid_param', message: message('0') }),
    ).toBeUndefined();
    expect(
      concurrencyLimitOf({ status: 429, difyCode: 'too_many_requests', message: 'Too many requests.' }),
    ).toBeUndefined();
    expect(
      concurrencyLimitOf({ status: 400, difyCode: 'invalid_param', message: 'x is 2.' }),
    ).toBeUndefined();
  });
});

describe('classifyOutage', () => {
  const error = (code: ErrorCode, extra: { status?: number; ambiguous?: boolean } = {}) =>
    new DifyApiError({ code, message: 'm', retryable: true, ...extra });
  it.each([
    [error('ERR_DIFY_NETWORK'), 'unreachable'],
    [error('ERR_DIFY_NETWORK', { ambiguous: true }), 'outage'],
    [error('ERR_DIFY_TIMEOUT', { ambiguous: true }), 'outage'],
    [error('ERR_DIFY_STREAM', { ambiguous: true }), 'outage'],
    [error('ERR_DIFY_HTTP', { status: 502 }), 'outage'],
    [error('ERR_DIFY_HTTP', { status: 400 }), undefined],
    [error('ERR_DIFY_RATE_LIMITED', { status: 429 }), undefined],
    [new Error('not ours'), undefined],
  ] as const)('%s → %s', (e, kind) => {
    expect(classifyOutage(e)).toBe(kind);
  });
});

describe('classifyTransportError', () => {
  const context = {
    phase: 'request' as const,
    streaming: false,
    timeouts: { connectMs: 11, firstByteMs: 22, idleMs: 33 },
    scrub: (text: string) => text.split('SECRET').join('[REDACTED]'),
  };
  const undiciError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('maps the three undici timeouts to retryable ERR_DIFY_TIMEOUT naming the option', () => {
    const connect = classifyTransportError(
      undiciError('UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error'),
      context,
    );
    const headers = classifyTransportError(
      undiciError('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error'),
      context,
    );
    const body = classifyTransportError(undiciError('UND_ERR_BODY_TIMEOUT', 'Body Timeout Error'), {
      ...context,
      phase: 'body',
    });
    expect(connect).toMatchObject({ code: 'ERR_DIFY_TIMEOUT', retryable: true, ambiguous: false });
    // Waiting for headers or body: the request was sent, Dify may have run it.
    expect(headers.ambiguous).toBe(true);
    expect(body.ambiguous).toBe(true);
    expect(connect.message).toContain('timeouts.connectMs (11 ms)');
    expect(headers.message).toContain('timeouts.firstByteMs (22 ms)');
    expect(body.message).toContain('timeouts.idleMs (33 ms)');
  });

  it('maps connection failures by phase and mode', () => {
    const refused = Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' });
    expect(classifyTransportError(refused, context)).toMatchObject({
      code: 'ERR_DIFY_NETWORK',
      retryable: true,
      ambiguous: false,
      message: 'Network error before a response: ECONNREFUSED',
    });
    // A reset of a connected socket while waiting: sent, maybe run.
    expect(classifyTransportError(undiciError('ECONNRESET', 'read ECONNRESET'), context).ambiguous).toBe(
      true,
    );
    const closed = undiciError('UND_ERR_SOCKET', 'other side closed');
    expect(classifyTransportError(closed, { ...context, phase: 'body' })).toMatchObject({
      code: 'ERR_DIFY_NETWORK',
      retryable: true,
    });
    expect(classifyTransportError(closed, { ...context, phase: 'body', streaming: true })).toMatchObject({
      code: 'ERR_DIFY_STREAM',
      retryable: true,
      ambiguous: true,
    });
  });

  it('never keeps the raw error: the cause is a scrubbed plain record', () => {
    const raw = Object.assign(new Error('socket hang up with Bearer SECRET'), {
      code: 'ECONNRESET',
      request: { headers: { authorization: 'Bearer SECRET' } },
    });
    const error = classifyTransportError(raw, context);
    expect(error.cause).toEqual({
      name: 'Error',
      code: 'ECONNRESET',
      message: 'socket hang up with Bearer [REDACTED] (ECONNRESET)',
    });
    expect(error.message).not.toContain('SECRET');
  });

  it('maps anything unknown to a final ERR_INTERNAL and passes DifyApiErrors through', () => {
    expect(classifyTransportError(new TypeError('boom'), context)).toMatchObject({
      code: 'ERR_INTERNAL',
      retryable: false,
    });
    const own = new DifyApiError({ code: 'ERR_DIFY_RUN_FAILED', message: 'x', retryable: false });
    expect(classifyTransportError(own, context)).toBe(own);
  });
});
