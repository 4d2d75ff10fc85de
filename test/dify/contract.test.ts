/**
 * Contract suite: DifyClient against the real emulator (src/emulator), row by row through the checklist
 * at the end of docs/dify-api.md, for the three app kinds in both response modes.
 */
import { inspect } from 'node:util';
import { request as rawRequest } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DifyApiError } from '../../src/core/DifyApiError.js';
import { DifyClient, type DifyClientTimeouts } from '../../src/dify/DifyClient.js';
import type { DifyAppKind, DifyRequest, DifyResponseMode, DifyResult } from '../../src/dify/DifyRequest.js';
import { isConcurrencyLimitError } from '../../src/dify/isConcurrencyLimitError.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { startEmulator } from '../../src/emulator/startEmulator.js';
import { failure } from './fixtures.js';

const KINDS = ['workflow', 'completion', 'chat'] as const;
const MODES = ['blocking', 'streaming'] as const;
const CASES = KINDS.flatMap((app) => MODES.map((mode) => [app, mode] as const));
const KEY = Object.fromEntries(EMULATOR_DEFAULT_APPS.map((app) => [app.mode, app.key])) as Record<
  DifyAppKind,
  string
>;
const WRONG_KEY = 'app-NoSuchKeyAnywhere00000001';
const ALL_KEYS = [...Object.values(KEY), WRONG_KEY];

type Emulator = Awaited<ReturnType<typeof startEmulator>>;
let emulator: Emulator;
/** Generous deadlines: a call only fails by timeout when a test means it to. */
let clients: Record<DifyAppKind, DifyClient>;
/** Short deadlines, for the stall and idle rows. */
let quick: Record<DifyAppKind, DifyClient>;
const extraClients: DifyClient[] = [];
/** Every error any call produced, checked for the key at the end. */
const seen: unknown[] = [];
let seq = 0;

function makeClients(timeouts: DifyClientTimeouts, apiKey?: string): Record<DifyAppKind, DifyClient> {
  const make = (app: DifyAppKind) =>
    new DifyClient({ baseUrl: emulator.url, apiKey: apiKey ?? KEY[app], timeouts });
  return { workflow: make('workflow'), completion: make('completion'), chat: make('chat') };
}

beforeAll(async () => {
  emulator = await startEmulator();
  clients = makeClients({ firstByteMs: 20_000, idleMs: 20_000, totalMs: 30_000 });
  quick = makeClients({ firstByteMs: 300, idleMs: 300, totalMs: 10_000 });
});
afterEach(() => {
  // Tests that change knobs set them back here; reset() only zeroes the counters.
  emulator.configure({ maxActiveRequests: 0, rateLimitRps: 0, latency: { kind: 'fixed', ms: 0 } });
  emulator.reset();
});
afterAll(async () => {
  const all = [...Object.values(clients ?? {}), ...Object.values(quick ?? {}), ...extraClients];
  await Promise.all(all.map((client) => client.close()));
  await emulator?.close();
});

/** A request with a unique `id` (the emulator counts calls per input by it). */
function req(
  app: DifyAppKind,
  responseMode: DifyResponseMode,
  inputs: Record<string, unknown> = {},
): DifyRequest {
  seq += 1;
  return {
    app,
    responseMode,
    user: 'contract-user',
    inputs: { id: `c${seq}`, text: `row ${seq}`, ...inputs },
    ...(app === 'workflow' ? {} : { query: `question ${seq}?` }),
  };
}

async function run(request: DifyRequest, client: DifyClient = clients[request.app]): Promise<DifyResult> {
  try {
    return await client.run(request);
  } catch (error) {
    seen.push(error);
    throw error;
  }
}

async function fails(
  request: DifyRequest,
  client?: DifyClient,
): Promise<{ error: DifyApiError; ms: number }> {
  const outcome = await failure(run(request, client));
  expect(outcome.error, inspect(outcome.error)).toBeInstanceOf(DifyApiError);
  return outcome;
}

/** A raw HTTP call, for the rows that are about the wire rather than the client. */
async function raw(path: string, init: { method?: string; key?: string | null; body?: unknown } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? KEY.workflow}`;
  const response = await rawRequest(`${emulator.url}${path}`, {
    method: (init.method ?? 'POST') as 'POST',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

describe('checklist: required fields', () => {
  it('no Authorization header → 401 unauthorized with WWW-Authenticate', async () => {
    const answer = await raw('/workflows/run', { key: null, body: { inputs: {}, user: 'u' } });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(JSON.parse(answer.text)).toEqual({
      code: 'unauthorized',
      message: "Authorization header must be provided and start with 'Bearer'",
      status: 401,
    });
  });

  it.each(MODES)('an unknown key → final 401 ERR_DIFY_AUTH, all kinds (%s)', async (mode) => {
    const wrong = makeClients({ totalMs: 10_000 }, WRONG_KEY);
    extraClients.push(...Object.values(wrong));
    for (const app of KINDS) {
      const { error } = await fails(req(app, mode), wrong[app]);
      expect(error).toMatchObject({
        code: 'ERR_DIFY_AUTH',
        status: 401,
        difyCode: 'unauthorized',
        message: 'the API key was rejected (401 unauthorized: Access token is invalid)',
        retryable: false,
      });
    }
  });

  it.each(CASES)('%s %s: an empty user → final 400 invalid_param', async (app, mode) => {
    const { error } = await fails({ ...req(app, mode), user: '' });
    expect(error).toMatchObject({
      code: 'ERR_DIFY_HTTP',
      status: 400,
      difyCode: 'invalid_param',
      message: 'Arg user must be provided.',
      retryable: false,
    });
  });

  it.each(CASES)('%s %s: missing inputs → final 400 invalid_param', async (app, mode) => {
    const request = { ...req(app, mode), inputs: undefined } as unknown as DifyRequest;
    const { error } = await fails(request);
    expect(error).toMatchObject({
      code: 'ERR_DIFY_HTTP',
      status: 400,
      difyCode: 'invalid_param',
      retryable: false,
    });
  });

  it('chat without a query → final 400', async () => {
    const { query: _query, ...request } = req('chat', 'blocking');
    const { error } = await fails(request);
    expect(error).toMatchObject({ code: 'ERR_DIFY_HTTP', status: 400, retryable: false });
  });
});

describe('checklist: unknown fields are ignored', () => {
  it('extra body fields and undeclared input keys still run', async () => {
    const answer = await raw('/workflows/run', {
      body: { inputs: { id: 'x1', undeclared: true }, user: 'u', response_mode: 'blocking', not_a_field: 1 },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text).data.status).toBe('succeeded');
  });
});

describe('checklist: blocking and streaming success, the same DifyResult', () => {
  it.each(CASES)('%s %s: outputs are the emulated ones', async (app, mode) => {
    const request = req(app, mode, { n: 1, nested: { a: [1, 'b'] } });
    const result = await run(request);
    expect(result.outputs).toEqual(emulatedOutputs(app, request.inputs, request.query));
    if (app === 'workflow') {
      expect(result).toMatchObject({
        status: 'succeeded',
        workflowRunId: expect.any(String),
        taskId: expect.any(String),
      });
    } else {
      expect(result).toMatchObject({ messageId: expect.any(String), taskId: expect.any(String) });
    }
    expect(result.conversationId !== undefined).toBe(app === 'chat');
  });

  it.each(KINDS)('%s: both modes return the same fields', async (app) => {
    const inputs = { id: `same-${app}`, text: 'same' };
    const blocking = await run({
      ...req(app, 'blocking'),
      inputs,
      query: app === 'workflow' ? undefined : 'q',
    });
    const streaming = await run({
      ...req(app, 'streaming'),
      inputs,
      query: app === 'workflow' ? undefined : 'q',
    });
    expect(Object.keys(streaming).sort()).toEqual(Object.keys(blocking).sort());
    expect(streaming.outputs).toEqual(blocking.outputs);
  });

  it.each(MODES)('workflow by published version: POST /workflows/{workflowId}/run (%s)', async (mode) => {
    const workflowId = EMULATOR_DEFAULT_APPS.find((app) => app.mode === 'workflow')?.workflowId;
    expect(workflowId).toBeDefined();
    const request = { ...req('workflow', mode), workflowId };
    expect((await run(request)).outputs).toEqual(emulatedOutputs('workflow', request.inputs));
  });

  it.each(MODES)('chat continues a conversation by conversationId (%s)', async (mode) => {
    const first = await run(req('chat', mode));
    const second = await run({ ...req('chat', mode), conversationId: first.conversationId });
    expect(second.conversationId).toBe(first.conversationId);
  });

  it.each(MODES)(
    'workflow that ran and failed → final ERR_DIFY_RUN_FAILED with Dify’s error (%s)',
    async (mode) => {
      const { error } = await fails(req('workflow', mode, { __fault: 'failed' }));
      expect(error).toMatchObject({ code: 'ERR_DIFY_RUN_FAILED', retryable: false });
      expect(error.message.length).toBeGreaterThan(0);
    },
  );

  it('a workflow that failed is still HTTP 200 with data.status "failed"', async () => {
    const answer = await raw('/workflows/run', {
      body: { inputs: { id: 'f1', __fault: 'failed' }, user: 'u', response_mode: 'blocking' },
    });
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text);
    expect(body.data.status).toBe('failed');
    expect(typeof body.data.error).toBe('string');
  });
});

describe('checklist: streaming framing', () => {
  it.each(KINDS)('%s: ping / compact data frames / terminal event, then the stream closes', async (app) => {
    const body = {
      inputs: { id: `frame-${app}` },
      user: 'u',
      response_mode: 'streaming',
      ...(app === 'workflow' ? {} : { query: 'q' }),
    };
    const path = { workflow: '/workflows/run', completion: '/completion-messages', chat: '/chat-messages' }[
      app
    ];
    const answer = await raw(path, { key: KEY[app], body });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(answer.text.endsWith('\n\n')).toBe(true);
    const frames = answer.text.slice(0, -2).split('\n\n');
    if (app === 'workflow') expect(frames[0]).toBe('event: ping');
    const events = frames
      .filter((frame) => frame !== 'event: ping')
      .map((frame) => {
        expect(frame.startsWith('data: ')).toBe(true);
        const payload = frame.slice('data: '.length);
        // orjson: compact, one line (outside string literals there is no whitespace at all)
        expect(payload.replace(/"(?:[^"\\]|\\.)*"/g, '""')).not.toMatch(/\s/);
        return JSON.parse(payload).event as string;
      });
    expect(events.at(-1)).toBe(app === 'workflow' ? 'workflow_finished' : 'message_end');
  });
});

describe('checklist: error bodies and what is retryable', () => {
  const kindsAndModes = (modes: readonly DifyResponseMode[]) =>
    KINDS.flatMap((app) => modes.map((mode) => [app, mode] as const));

  it.each(kindsAndModes(MODES))('%s %s: injected 500 / 429 / HTML 502 / reset', async (app, mode) => {
    const e500 = (await fails(req(app, mode, { __fault: '500' }))).error;
    expect(e500).toMatchObject({ code: 'ERR_DIFY_HTTP', status: 500, retryable: true });
    const e429 = (await fails(req(app, mode, { __fault: '429' }))).error;
    // Dify's /v1 sends no Retry-After, and the emulator follows it by default.
    expect(e429).toMatchObject({
      code: 'ERR_DIFY_RATE_LIMITED',
      status: 429,
      retryable: true,
      retryAfterMs: undefined,
    });
    const e502 = (await fails(req(app, mode, { __fault: '502' }))).error;
    expect(e502).toMatchObject({ code: 'ERR_DIFY_HTTP', status: 502, retryable: true });
    expect(e502.message).toMatch(/^HTTP 502 Bad Gateway \(non-JSON body: "<html>/);
    const reset = (await fails(req(app, mode, { __fault: 'reset' }))).error;
    expect(reset).toMatchObject({ code: 'ERR_DIFY_NETWORK', retryable: true });
  });

  it.each(kindsAndModes(MODES))(
    '%s %s: a dropped connection → retryable, STREAM when streaming',
    async (app, mode) => {
      const { error } = await fails(req(app, mode, { __fault: 'drop' }));
      expect(error).toMatchObject({
        code: mode === 'streaming' ? 'ERR_DIFY_STREAM' : 'ERR_DIFY_NETWORK',
        retryable: true,
      });
    },
  );

  it.each(KINDS)(
    '%s streaming: an error event ends the call promptly, though the stream stays open',
    async (app) => {
      // The emulator sends InvokeError's `completion_request_error`/400: final, as in blocking mode.
      const { error, ms } = await fails(req(app, 'streaming', { __fault: 'error' }));
      expect(error).toMatchObject({
        code: 'ERR_DIFY_HTTP',
        status: 400,
        difyCode: 'completion_request_error',
        retryable: false,
      });
      expect(ms).toBeLessThan(1000); // the client idles out only after 20 s
    },
  );

  it('a stream that goes idle past idleMs → retryable ERR_DIFY_TIMEOUT', async () => {
    // A 20 s run: ping and the first graph events at once, then 8 s of silence before the first text chunk.
    emulator.configure({ latency: { kind: 'fixed', ms: 20_000 } });
    try {
      const { error, ms } = await fails(req('workflow', 'streaming'), quick.workflow);
      expect(error).toMatchObject({ code: 'ERR_DIFY_TIMEOUT', retryable: true });
      expect(error.message).toContain('timeouts.idleMs');
      expect(ms).toBeLessThan(3000);
    } finally {
      emulator.configure({ latency: { kind: 'fixed', ms: 0 } });
    }
  });

  it.each(['blocking', 'streaming'] as const)('a stall → retryable ERR_DIFY_TIMEOUT (%s)', async (mode) => {
    const { error, ms } = await fails(req('workflow', mode, { __fault: 'stall' }), quick.workflow);
    expect(error).toMatchObject({ code: 'ERR_DIFY_TIMEOUT', retryable: true });
    expect(ms).toBeLessThan(3000);
  });

  it('":N" limits a fault to the first N calls of an input', async () => {
    const request = req('completion', 'blocking', { __fault: '500:1' });
    expect((await fails(request)).error).toMatchObject({ status: 500, retryable: true });
    const result = await run(request);
    expect(result.outputs).toEqual(emulatedOutputs('completion', request.inputs, request.query));
    expect(emulator.stats().callsPerInput?.[request.inputs.id as string]).toBe(2);
  });

  it.each([400, 429] as const)(
    'the app concurrency limit answering %i is a retryable rate limit',
    async (status) => {
      emulator.configure({
        maxActiveRequests: 1,
        concurrencyLimitStatus: status,
        latency: { kind: 'fixed', ms: 300 },
      });
      const settled = await Promise.allSettled([1, 2, 3].map(() => run(req('workflow', 'blocking'))));
      const rejected = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as DifyApiError] : []));
      expect(settled.some((s) => s.status === 'fulfilled')).toBe(true);
      expect(rejected.length).toBeGreaterThan(0);
      for (const error of rejected) {
        expect(error).toMatchObject({
          code: 'ERR_DIFY_RATE_LIMITED',
          status,
          difyCode: status === 400 ? 'invalid_param' : 'too_many_requests',
          retryable: true,
          retryAfterMs: undefined, // Dify's /v1 never sends Retry-After
        });
        expect(error.message.startsWith('Too many requests.')).toBe(true);
        expect(isConcurrencyLimitError(error)).toBe(true);
      }
      expect(emulator.stats().rejectedConcurrency).toBe(rejected.length);
    },
  );

  it('the emulator’s rate limit answers 429 without Retry-After (as Dify /v1), or with it when asked', async () => {
    emulator.configure({ rateLimitRps: 1 });
    const plain = await Promise.allSettled([1, 2, 3].map(() => run(req('chat', 'blocking'))));
    const refused = plain.flatMap((s) => (s.status === 'rejected' ? [s.reason as DifyApiError] : []));
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toMatchObject({ code: 'ERR_DIFY_RATE_LIMITED', status: 429, retryAfterMs: undefined });
    }
    emulator.configure({ rateLimitRps: 1, rateLimitRetryAfter: true });
    const settled = await Promise.allSettled([1, 2, 3].map(() => run(req('chat', 'blocking'))));
    const rejected = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as DifyApiError] : []));
    emulator.configure({ rateLimitRetryAfter: false });
    expect(rejected.length).toBeGreaterThan(0);
    for (const error of rejected) {
      expect(error).toMatchObject({ code: 'ERR_DIFY_RATE_LIMITED', status: 429, retryable: true });
      expect(error.retryAfterMs).toBeGreaterThanOrEqual(1000); // whole seconds
      expect((error.retryAfterMs ?? 1) % 1000).toBe(0);
      // Its body is the docs' `too_many_requests` example, so it reads as a concurrency limit too: both retry.
    }
  });
});

describe('checklist: run detail and no batch endpoint', () => {
  it('GET /workflows/run/{id} returns inputs as a JSON string', async () => {
    const request = req('workflow', 'blocking', { detail: 'yes' });
    const result = await run(request);
    const answer = await raw(`/workflows/run/${result.workflowRunId}`, { method: 'GET' });
    expect(answer.status).toBe(200);
    const detail = JSON.parse(answer.text);
    expect(typeof detail.inputs).toBe('string');
    expect(JSON.parse(detail.inputs)).toMatchObject(request.inputs);
    expect(detail.outputs).toEqual(result.outputs);
  });

  it('POST /workflows/run/batch → 405 method_not_allowed JSON', async () => {
    const answer = await raw('/workflows/run/batch', { body: { inputs: [{}], user: 'u' } });
    expect(answer.status).toBe(405);
    expect(JSON.parse(answer.text)).toMatchObject({ code: 'method_not_allowed', status: 405 });
  });
});

describe('the API key never appears in an error', () => {
  it('holds for every error this suite produced', () => {
    expect(seen.length).toBeGreaterThan(40);
    for (const error of seen) {
      const e = error as Error;
      const views = [
        String(e),
        JSON.stringify(e),
        e.stack ?? '',
        inspect(e, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      ];
      for (const view of views) for (const key of ALL_KEYS) expect(view).not.toContain(key.slice(4));
    }
  });
});
