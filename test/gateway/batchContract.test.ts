import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { type Gateway, startGateway } from '../../src/gateway/startGateway.js';
import { keyOf, postBatch, WORKFLOW_KEY } from './helpers.js';

const INTERNAL_ERROR =
  'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.';

let emulator: Emulator;
let gateway: Gateway;
let batchUrl: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'uniform', minMs: 0, maxMs: 5 } });
  gateway = await startGateway({
    upstream: emulator.url,
    concurrency: 4,
    maxItems: 20,
    maxBodyBytes: 4096,
    queue: 100,
    retry: { maxAttempts: 2, baseDelayMs: 1 },
  });
  batchUrl = `${gateway.url}/v1/workflows/run/batch`;
});
afterAll(async () => {
  await gateway.close();
  await emulator.close();
});
beforeEach(() => {
  emulator.configure({ faults: {}, latency: { kind: 'uniform', minMs: 0, maxMs: 5 } });
  emulator.reset();
});

describe('POST /v1/workflows/run/batch', () => {
  it('answers 207 with results in input order, the exact failures and individual_errors', async () => {
    const inputs = [
      { id: 1 },
      { id: 2, __fault: '500' },
      { id: 3 },
      { id: 4, __fault: 'failed' },
      'not an object',
      { id: 6, __fault: '429:1' },
      { id: 7, __fault: '502' },
    ];
    const { status, body } = await postBatch(batchUrl, { inputs, user: 'u1', response_mode: 'blocking' });
    expect(status).toBe(207);
    // Successful bodies are Dify's own: check their outputs, then the whole envelope exactly.
    for (const i of [0, 2, 5]) {
      expect(body.results[i]?.data?.data?.status).toBe('succeeded');
      expect(body.results[i]?.data?.data?.outputs).toEqual(
        emulatedOutputs('workflow', inputs[i] as Record<string, unknown>),
      );
    }
    const failedRun = body.results[3]!;
    expect(failedRun.data?.data?.status).toBe('failed');
    expect({
      ...body,
      results: body.results.map((r, i) =>
        i === 3 ? { ...r, data: '…' } : r.error ? r : { status: r.status },
      ),
    }).toEqual({
      results: [
        { status: 200 },
        { status: 500, error: { code: 'internal_server_error', message: INTERNAL_ERROR } },
        { status: 200 },
        {
          status: 200,
          error: { code: 'workflow_run_failed', message: failedRun.data?.data?.error },
          data: '…',
        },
        {
          status: 400,
          error: { code: 'invalid_param', message: 'inputs[4] must be a JSON object, got a string' },
        },
        { status: 200 },
        {
          status: 502,
          error: {
            code: 'ERR_DIFY_HTTP',
            message: expect.stringMatching(/^HTTP 502 Bad Gateway \(non-JSON body/),
          },
        },
      ],
      succeeded: 3,
      failed: 4,
      individual_errors: [1, 3, 4, 6],
    });
    expect(failedRun.error?.message).toMatch(/Injected fault/);
    // Retryable faults were retried (maxAttempts 2), the failed run and the bad element were not.
    const calls = emulator.stats().callsPerInput!;
    expect(Object.values(calls).reduce((a, b) => a + b, 0)).toBe(1 + 2 + 1 + 1 + 2 + 2);
  });

  it('answers 200 when every element succeeds, each result matching its own input (any latencies)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 1e6 }), { maxLength: 20 }), async (ids) => {
        const inputs = ids.map((id, i) => ({ id: `${i}-${id}` }));
        const { status, body } = await postBatch(batchUrl, { inputs, user: 'u1' });
        expect(status).toBe(200);
        expect(body.succeeded).toBe(inputs.length);
        expect(body.failed).toBe(0);
        expect(body.individual_errors).toEqual([]);
        expect(body.results.map((r) => r.data?.data?.outputs)).toEqual(
          inputs.map((input) => emulatedOutputs('workflow', input)),
        );
      }),
      { numRuns: 15 },
    );
  });

  it('individual_errors, counts and each status follow the elements exactly, for any mix (property)', async () => {
    const kinds = ['ok', '500', 'failed', 'not-object'] as const;
    const expectedStatus = { ok: 200, '500': 500, failed: 200, 'not-object': 400 } as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...kinds), { maxLength: 20 }),
        fc.boolean(),
        async (mix, ndjson) => {
          const inputs = mix.map((kind, i) =>
            kind === 'not-object' ? i : kind === 'ok' ? { id: `p${i}` } : { id: `p${i}`, __fault: kind },
          );
          const failed = mix.flatMap((kind, i) => (kind === 'ok' ? [] : [i]));
          const response = await fetch(batchUrl, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${WORKFLOW_KEY}`,
              'content-type': 'application/json',
              ...(ndjson ? { accept: 'application/x-ndjson' } : {}),
            },
            body: JSON.stringify({ inputs, user: 'u' }),
          });
          const text = await response.text();
          let results: { status: number; error?: unknown; index?: number }[];
          let tail: { succeeded: number; failed: number; individual_errors: number[] };
          if (ndjson) {
            const lines = text
              .trimEnd()
              .split('\n')
              .map((l) => JSON.parse(l));
            results = lines.slice(0, -1);
            tail = lines.at(-1);
            expect(response.status).toBe(200);
            expect(results.map((r) => r.index)).toEqual(mix.map((_, i) => i));
          } else {
            const body = JSON.parse(text);
            results = body.results;
            tail = body;
            expect(response.status).toBe(failed.length > 0 ? 207 : 200);
          }
          expect(results.map((r) => r.status)).toEqual(mix.map((kind) => expectedStatus[kind]));
          expect(results.map((r) => r.error !== undefined)).toEqual(mix.map((kind) => kind !== 'ok'));
          expect(tail.individual_errors).toEqual(failed);
          expect(tail.failed).toBe(failed.length);
          expect(tail.succeeded).toBe(mix.length - failed.length);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('serves completion and chat batches, the element query as the query', async () => {
    const chat = await postBatch(
      `${gateway.url}/v1/chat-messages/batch`,
      { inputs: [{ query: 'hello', id: 1 }, { id: 2 }], user: 'u1' },
      { authorization: `Bearer ${keyOf('chat')}` },
    );
    expect(chat.status).toBe(207);
    expect(chat.body.results[0]?.data?.answer).toBe(emulatedOutputs('chat', { id: 1 }, 'hello').answer);
    expect(chat.body.results[1]).toEqual({
      status: 400,
      error: {
        code: 'invalid_param',
        message: 'inputs[1] field "query" (the chat message) is missing or empty',
      },
    });
    const completion = await postBatch(
      `${gateway.url}/v1/completion-messages/batch`,
      { inputs: [{ query: 'a', id: 1 }], user: 'u1' },
      { authorization: `Bearer ${keyOf('completion')}` },
    );
    expect(completion.status).toBe(200);
    expect(completion.body.results[0]?.data?.answer).toBe(
      emulatedOutputs('completion', { id: 1 }, 'a').answer,
    );
  });

  it("forwards the caller key: a wrong key fails each element with Dify's 401", async () => {
    const { status, body } = await postBatch(
      batchUrl,
      { inputs: [{ id: 1 }], user: 'u1' },
      {
        authorization: 'Bearer app-ThisKeyIsNotKnown000000',
      },
    );
    expect(status).toBe(207);
    expect(body.results[0]).toEqual({
      status: 401,
      error: { code: 'unauthorized', message: 'Access token is invalid' },
    });
    expect(JSON.stringify(body)).not.toContain('ThisKeyIsNotKnown');
  });

  it('answers 400 for a malformed envelope and calls nothing', async () => {
    const cases: [string, object][] = [
      [
        '{"inputs": [',
        {
          code: 'bad_request',
          message: 'Invalid JSON payload received or JSON payload is empty.',
          status: 400,
        },
      ],
      [
        '',
        {
          code: 'bad_request',
          message: 'Invalid JSON payload received or JSON payload is empty.',
          status: 400,
        },
      ],
      [
        '{"inputs": {"a": 1}, "user": "u"}',
        {
          code: 'invalid_param',
          message: '"inputs" must be an array of input objects, got a object',
          status: 400,
        },
      ],
      [
        '{"user": "u"}',
        {
          code: 'invalid_param',
          message: '"inputs" must be an array of input objects, got nothing',
          status: 400,
        },
      ],
      ['{"inputs": []}', { code: 'invalid_param', message: 'Arg user must be provided.', status: 400 }],
      [
        '[1]',
        { code: 'invalid_param', message: 'the body must be a JSON object, got an array', status: 400 },
      ],
      [
        '{"inputs": [], "user": "u", "response_mode": "streaming"}',
        {
          code: 'invalid_param',
          message:
            '"response_mode" must be "blocking" (send Accept: application/x-ndjson to stream results), got "streaming"',
          status: 400,
        },
      ],
    ];
    for (const [text, expected] of cases) {
      const { status, body } = await postBatch(batchUrl, text);
      expect(status).toBe(400);
      expect(body).toEqual(expected);
    }
    expect(emulator.stats().requests).toBe(0);
  });

  it('answers 401 without a key, and calls nothing', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Basic abc' },
      { authorization: 'Bearer ' },
    ]) {
      const {
        status,
        headers: h,
        body,
      } = await postBatch(batchUrl, { inputs: [{ id: 1 }], user: 'u' }, headers);
      expect(status).toBe(401);
      expect(h.get('www-authenticate')).toBe('Bearer realm="api"');
      expect(body).toEqual({
        code: 'unauthorized',
        message: "Authorization header must be provided and start with 'Bearer'",
        status: 401,
      });
    }
    expect(emulator.stats().requests).toBe(0);
  });

  it('answers 413 over --max-items and over --max-body-bytes (declared or chunked), and calls nothing', async () => {
    const tooMany = await postBatch(batchUrl, {
      inputs: Array.from({ length: 21 }, (_, id) => ({ id })),
      user: 'u',
    });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toEqual({
      code: 'request_entity_too_large',
      message: '"inputs" has 21 items; this gateway takes at most 20 (--max-items)',
      status: 413,
    });
    const big = JSON.stringify({ inputs: [{ id: 'x'.repeat(5000) }], user: 'u' });
    const declared = await postBatch(batchUrl, big);
    expect(declared.status).toBe(413);
    expect(declared.body.message).toBe('the request body is larger than 4096 bytes (--max-body-bytes)');
    // Chunked: no Content-Length, the limit is found while reading.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(batchUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${WORKFLOW_KEY}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write(big.slice(0, 3000));
      req.end(big.slice(3000));
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).code).toBe('request_entity_too_large');
    expect(emulator.stats().requests).toBe(0);
  });

  it('survives a client that goes away in the middle of its body, calling nothing', async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest(batchUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${WORKFLOW_KEY}`, 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('{"inputs": [{"id": 1}', () => setTimeout(() => req.destroy(), 20));
    });
    const health = await fetch(`${gateway.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok', queued: 0, inFlight: 0 });
    expect(emulator.stats().requests).toBe(0);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const notFound = await fetch(`${gateway.url}/v1/workflows/run`, { method: 'POST' });
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as { code: string }).code).toBe('not_found');
    const wrongMethod = await fetch(batchUrl);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    const health = await fetch(`${gateway.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok', queued: 0, inFlight: 0 });
  });
});
