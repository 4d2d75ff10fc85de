import { getEventListeners } from 'node:events';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DifyApiError } from '../../src/core/DifyApiError.js';
import { DifyClient } from '../../src/dify/DifyClient.js';
import {
  APP_KEY,
  BLOCKING,
  clientHarness,
  failure,
  happyDify,
  ODD_KEY,
  request,
  STREAM,
} from './fixtures.js';
import { json, sse, startScriptedServer } from './scriptedServer.js';

const { setup, defer } = clientHarness();

const LIMIT =
  'Too many requests. Please try again later. The current maximum concurrent requests allowed for A is 1.';
const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
const errorEvent = (status: number, code: string, message: string) => ({
  event: 'error',
  workflow_run_id: 'R',
  code,
  status,
  message,
});

describe('HTTP error answers', () => {
  it.each([
    [400, 'invalid_param', 'Arg user must be provided.', 'ERR_DIFY_HTTP', false],
    [
      400,
      'not_workflow_app',
      'Please check if your app mode matches the right API route.',
      'ERR_DIFY_HTTP',
      false,
    ],
    [400, 'invalid_param', LIMIT, 'ERR_DIFY_RATE_LIMITED', true],
    [429, 'too_many_requests', LIMIT, 'ERR_DIFY_RATE_LIMITED', true],
    [
      429,
      'rate_limit_error',
      'Workflow execution quota limit reached for tenant t',
      'ERR_DIFY_RATE_LIMITED',
      true,
    ],
    [500, 'internal_server_error', 'The server encountered an internal error', 'ERR_DIFY_HTTP', true],
    [503, 'service_unavailable', 'busy', 'ERR_DIFY_HTTP', true],
    [504, 'gateway_timeout', 'slow', 'ERR_DIFY_HTTP', true],
  ] as const)('%i %s → %s retryable=%s, both modes', async (status, difyCode, message, code, retryable) => {
    const { client } = await setup((_req, res) => json(res, status, { code: difyCode, message, status }));
    for (const mode of ['blocking', 'streaming'] as const) {
      const { error } = await failure(client.run(request('workflow', mode)));
      expect(error).toBeInstanceOf(DifyApiError);
      expect(error).toMatchObject({ code, status, difyCode, message, retryable, retryAfterMs: undefined });
    }
  });

  it('reads Retry-After in seconds and as an HTTP date', async () => {
    const { client } = await setup((req, res) => {
      const when = JSON.parse(req.body).inputs.when as string;
      const value = when === 'date' ? new Date(Date.now() + 5000).toUTCString() : '3';
      json(
        res,
        429,
        { code: 'too_many_requests', message: 'slow down', status: 429 },
        { 'retry-after': value },
      );
    });
    const seconds = await failure(
      client.run({ ...request('completion', 'blocking'), inputs: { when: 'seconds' } }),
    );
    const date = await failure(
      client.run({ ...request('completion', 'streaming'), inputs: { when: 'date' } }),
    );
    expect(seconds.error).toMatchObject({
      code: 'ERR_DIFY_RATE_LIMITED',
      retryable: true,
      retryAfterMs: 3000,
    });
    // toUTCString drops the milliseconds: the delay is 4–5 s.
    expect(date.error.retryAfterMs).toBeGreaterThanOrEqual(3500);
    expect(date.error.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it('describes an nginx HTML 502 and a Flask HTML 404', async () => {
    const { client } = await setup((req, res) => {
      const html = req.url.includes('completion') ? '<!doctype html><title>404 Not Found</title>' : NGINX_502;
      res.writeHead(req.url.includes('completion') ? 404 : 502, { 'content-type': 'text/html' });
      res.end(html);
    });
    const bad = await failure(client.run(request('workflow', 'streaming')));
    expect(bad.error.message).toMatch(
      /^HTTP 502 Bad Gateway \(non-JSON body: "<html> <head><title>502 Bad Gateway.*…" truncated\)$/,
    );
    expect(bad.error).toMatchObject({ code: 'ERR_DIFY_HTTP', status: 502, retryable: true });
    const missing = await failure(client.run(request('completion', 'blocking')));
    expect(missing.error).toMatchObject({ code: 'ERR_DIFY_ROUTE', status: 404, retryable: false });
    expect(missing.error.message).toMatch(
      /^404 from http:\/\/127\.0\.0\.1:\d+\/v1\/completion-messages: the base URL probably lacks \/v1 \(HTTP 404 Not Found \(non-JSON body: "<!doctype html><title>404 Not Found<\/title>"\)\)$/,
    );
  });
});

describe('answers no retry can fix', () => {
  it.each([
    [
      401,
      'unauthorized',
      'Access token is invalid',
      'the API key was rejected (401 unauthorized: Access token is invalid)',
    ],
    [
      403,
      'forbidden',
      'The app no longer exists.',
      'the app refused the API key (403 forbidden: The app no longer exists.)',
    ],
  ] as const)(
    '%i %s → final ERR_DIFY_AUTH naming the cause, both modes',
    async (status, difyCode, message, expected) => {
      const { client } = await setup((_req, res) => json(res, status, { code: difyCode, message, status }));
      for (const mode of ['blocking', 'streaming'] as const) {
        const { error } = await failure(client.run(request('workflow', mode)));
        expect(error).toMatchObject({
          code: 'ERR_DIFY_AUTH',
          status,
          difyCode,
          message: expected,
          retryable: false,
        });
      }
    },
  );
});

describe('runs that Dify finished without success', () => {
  it.each([
    ['failed', 'Node LLM run failed: boom'],
    ['stopped', 'Stopped by user.'],
  ])('workflow %s is a final ERR_DIFY_RUN_FAILED with Dify’s error, both modes', async (status, text) => {
    const data = { ...BLOCKING.workflow.data, status, outputs: null, error: text };
    const { client } = await setup((req, res) =>
      JSON.parse(req.body).response_mode === 'streaming'
        ? sse(res, [
            ...STREAM.workflow.slice(0, 2),
            { event: 'workflow_finished', workflow_run_id: 'R', task_id: 'T', data },
          ])
        : json(res, 200, { ...BLOCKING.workflow, data }),
    );
    for (const mode of ['blocking', 'streaming'] as const) {
      const { error } = await failure(client.run(request('workflow', mode)));
      expect(error).toMatchObject({ code: 'ERR_DIFY_RUN_FAILED', message: text, retryable: false });
    }
  });

  it('a paused workflow (human input) fails finally instead of returning empty outputs', async () => {
    const data = { ...BLOCKING.workflow.data, status: 'paused', outputs: {}, finished_at: null };
    const { client } = await setup((_req, res) => json(res, 200, { ...BLOCKING.workflow, data }));
    const { error } = await failure(client.run(request('workflow', 'blocking')));
    expect(error).toMatchObject({ code: 'ERR_DIFY_RUN_FAILED', retryable: false });
  });
});

describe('broken streams and timeouts', () => {
  it('an error event ends the call at once, though Dify then goes silent without closing', async () => {
    const { server, client } = await setup(
      (_req, res) =>
        sse(
          res,
          [
            'ping',
            STREAM.workflow[1],
            errorEvent(500, 'internal_server_error', 'Internal Server Error, please contact support.'),
          ],
          false,
        ),
      { timeouts: { idleMs: 20_000 } },
    );
    const { error, ms } = await failure(client.run(request('workflow', 'streaming')));
    expect(error).toMatchObject({
      code: 'ERR_DIFY_HTTP',
      status: 500,
      difyCode: 'internal_server_error',
      message: 'Internal Server Error, please contact support.',
      retryable: true,
    });
    expect(ms).toBeLessThan(1000);
    await server.socketClosed(0); // the client hung up: the stream is not left open
  });

  it.each([
    [400, 'invalid_param', 'query is required in input form', 'ERR_DIFY_HTTP', false],
    [400, 'invalid_param', LIMIT, 'ERR_DIFY_RATE_LIMITED', true],
    [400, 'completion_request_error', 'Rate limit reached for model', 'ERR_DIFY_HTTP', false],
  ] as const)('an error event %i %s → %s retryable=%s', async (status, code, message, ourCode, retryable) => {
    const { client } = await setup((_req, res) =>
      sse(res, [STREAM.chat[0], errorEvent(status, code, message)], false),
    );
    const { error, ms } = await failure(client.run(request('chat', 'streaming')));
    expect(error).toMatchObject({ code: ourCode, status, difyCode: code, message, retryable });
    expect(ms).toBeLessThan(1000);
  });

  it('a stream idle past idleMs is a retryable ERR_DIFY_TIMEOUT', async () => {
    const { client } = await setup((_req, res) => sse(res, ['ping', STREAM.workflow[1]], false), {
      timeouts: { idleMs: 150 },
    });
    const { error, ms } = await failure(client.run(request('workflow', 'streaming')));
    expect(error).toMatchObject({ code: 'ERR_DIFY_TIMEOUT', retryable: true });
    expect(error.message).toContain('timeouts.idleMs (150 ms)');
    expect(ms).toBeGreaterThanOrEqual(140);
    expect(ms).toBeLessThan(2000);
  });

  it('a blocking body that stalls midway is a retryable ERR_DIFY_TIMEOUT', async () => {
    const { client } = await setup(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        res.write('{"task_id":');
      },
      { timeouts: { idleMs: 150 } },
    );
    const { error } = await failure(client.run(request('completion', 'blocking')));
    expect(error).toMatchObject({ code: 'ERR_DIFY_TIMEOUT', retryable: true });
  });

  it('no headers within firstByteMs is a retryable ERR_DIFY_TIMEOUT', async () => {
    const { client } = await setup(() => {}, { timeouts: { firstByteMs: 150 } });
    const { error, ms } = await failure(client.run(request('chat', 'blocking')));
    expect(error).toMatchObject({ code: 'ERR_DIFY_TIMEOUT', retryable: true });
    expect(error.message).toContain('timeouts.firstByteMs (150 ms)');
    expect(ms).toBeLessThan(2000);
  });

  it('totalMs bounds a stream that keeps pinging forever', async () => {
    const timers: NodeJS.Timeout[] = [];
    const { client } = await setup(
      (_req, res) => {
        sse(res, ['ping'], false);
        timers.push(setInterval(() => res.write('event: ping\n\n'), 30));
      },
      { timeouts: { totalMs: 250, idleMs: 5000 } },
    );
    defer(async () => timers.forEach(clearInterval));
    const { error, ms } = await failure(client.run(request('workflow', 'streaming')));
    expect(error).toMatchObject({ code: 'ERR_DIFY_TIMEOUT', retryable: true });
    expect(error.message).toContain('timeouts.totalMs (250 ms)');
    expect(ms).toBeLessThan(2000);
  });

  it('a dropped stream is a retryable ERR_DIFY_STREAM', async () => {
    const { client } = await setup((_req, res, socket) => {
      sse(res, ['ping', STREAM.workflow[1]], false);
      setTimeout(() => socket.destroy(), 20);
    });
    const { error } = await failure(client.run(request('workflow', 'streaming')));
    expect(error).toMatchObject({ code: 'ERR_DIFY_STREAM', retryable: true });
  });

  it('a stream that ends cleanly without a terminal event is a retryable ERR_DIFY_STREAM', async () => {
    const { client } = await setup((_req, res) => sse(res, ['ping', ...STREAM.completion.slice(0, 2)]));
    const { error } = await failure(client.run(request('completion', 'streaming')));
    expect(error).toMatchObject({ code: 'ERR_DIFY_STREAM', retryable: true });
    expect(error.message).toContain('ended before a terminal event');
  });

  it('a refused connection and a reset before the answer are retryable ERR_DIFY_NETWORK', async () => {
    const { client } = await setup((_req, _res, socket) => socket.destroy());
    expect((await failure(client.run(request('workflow', 'blocking')))).error).toMatchObject({
      code: 'ERR_DIFY_NETWORK',
      retryable: true,
    });
    const gone = await startScriptedServer(happyDify);
    await gone.close();
    const refused = new DifyClient({ baseUrl: gone.url, apiKey: APP_KEY });
    defer(() => refused.close());
    const { error } = await failure(refused.run(request('workflow', 'streaming')));
    expect(error).toMatchObject({ code: 'ERR_DIFY_NETWORK', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('bodies over maxResponseBytes and bodies that are not JSON are final ERR_DIFY_BAD_RESPONSE', async () => {
    const { client } = await setup(
      (req, res) => {
        const { kind } = JSON.parse(req.body).inputs as { kind: string };
        if (kind === 'big-json') return json(res, 200, { ...BLOCKING.completion, answer: 'x'.repeat(5000) });
        if (kind === 'big-sse')
          return sse(
            res,
            Array.from({ length: 100 }, () => STREAM.completion[0]),
          );
        if (kind === 'bad-sse') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          return res.end('data: {not json\n\n');
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('<html>ok</html>');
      },
      { maxResponseBytes: 4096 },
    );
    for (const [kind, mode] of [
      ['big-json', 'blocking'],
      ['big-sse', 'streaming'],
      ['bad-sse', 'streaming'],
      ['html', 'blocking'],
    ] as const) {
      const { error } = await failure(client.run({ ...request('completion', mode), inputs: { kind } }));
      expect(error, kind).toMatchObject({ code: 'ERR_DIFY_BAD_RESPONSE', retryable: false });
    }
  });
});

describe('cancellation', () => {
  it('an already-aborted signal rejects with its reason and sends nothing', async () => {
    const { server, client } = await setup(happyDify);
    const reason = new Error('stop');
    await expect(
      client.run(request('workflow', 'blocking'), { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(server.requests).toHaveLength(0);
  });

  it.each(['blocking', 'streaming'] as const)(
    'abort mid-call rejects with signal.reason unchanged (%s)',
    async (mode) => {
      const { server, client } = await setup((_req, res) => {
        if (mode === 'streaming') sse(res, ['ping'], false); // then silence
      });
      const controller = new AbortController();
      const reason = { why: 'user pressed Ctrl-C' };
      const call = client.run(request('workflow', mode), { signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 50));
      controller.abort(reason);
      const { error, ms } = await failure(call);
      expect(error).toBe(reason);
      expect(ms).toBeLessThan(1000);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      await server.socketClosed(0);
    },
  );

  it('leaves no listener on the caller’s signal after success, failure or timeout', async () => {
    const { client } = await setup(
      (req, res) => {
        const { kind } = JSON.parse(req.body).inputs as { kind: string };
        if (kind === 'fail')
          return json(res, 500, { code: 'internal_server_error', message: 'x', status: 500 });
        if (kind === 'stall') return;
        happyDify(req, res);
      },
      { timeouts: { firstByteMs: 100 } },
    );
    const signal = new AbortController().signal;
    for (const mode of ['blocking', 'streaming'] as const) {
      await client.run({ ...request('chat', mode), inputs: { kind: 'ok' } }, { signal });
      await failure(client.run({ ...request('chat', mode), inputs: { kind: 'fail' } }, { signal }));
      await failure(client.run({ ...request('chat', mode), inputs: { kind: 'stall' } }, { signal }));
    }
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});

describe('API key redaction', () => {
  it('the key never appears in any error, however it fails', async () => {
    const timers: NodeJS.Timeout[] = [];
    const { client } = await setup(
      (req, res, socket) => {
        const echo = `key=${req.headers.authorization?.slice('Bearer '.length)}`;
        switch ((JSON.parse(req.body).inputs as { kind: string }).kind) {
          case 'json':
            return json(res, 401, { code: 'unauthorized', message: echo, status: 401 });
          case 'html':
            res.writeHead(502, { 'content-type': 'text/html' });
            return res.end(`<html>${echo}</html>`);
          case 'event':
            return sse(res, [errorEvent(400, 'invalid_param', echo)], false);
          case 'failed':
            return json(res, 200, {
              ...BLOCKING.workflow,
              data: { ...BLOCKING.workflow.data, status: 'failed', error: echo },
            });
          case 'reset':
            return socket.destroy();
          case 'drop':
            sse(res, ['ping'], false);
            timers.push(setTimeout(() => socket.destroy(), 10));
            return;
          default:
            return; // stall until firstByteMs
        }
      },
      { apiKey: ODD_KEY, timeouts: { firstByteMs: 100 } },
    );
    defer(async () => timers.forEach(clearTimeout));
    for (const kind of ['json', 'html', 'event', 'failed', 'reset', 'drop', 'stall']) {
      const mode = kind === 'event' || kind === 'drop' ? 'streaming' : 'blocking';
      const { error } = await failure(client.run({ ...request('workflow', mode), inputs: { kind } }));
      expect(error, kind).toBeInstanceOf(DifyApiError);
      const views = [
        String(error),
        JSON.stringify(error),
        error.stack ?? '',
        inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      ];
      for (const view of views) expect(view, kind).not.toContain('NotAnAppKeyButSecret');
    }
  });
});
