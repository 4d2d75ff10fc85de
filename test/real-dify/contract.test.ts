/**
 * The client contract for workflow apps against a real Dify 1.13.2 (both response modes): success,
 * every error class this server can produce here, run detail and stop.
 */
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { DifyApiError } from '../../src/core/DifyApiError.js';
import { DifyClient } from '../../src/dify/DifyClient.js';
import type { DifyResponseMode } from '../../src/dify/DifyRequest.js';
import { realDify } from './realDify.js';

const dify = realDify();
const MODES: readonly DifyResponseMode[] = ['blocking', 'streaming'];
const clients: DifyClient[] = [];
function client(apiKey = dify.key, baseUrl = dify.baseUrl): DifyClient {
  const c = new DifyClient({ baseUrl, apiKey, timeouts: { idleMs: 5_000, totalMs: 30_000 } });
  clients.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

async function failureOf(promise: Promise<unknown>): Promise<DifyApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DifyApiError);
  return error as DifyApiError;
}

describe.each(MODES)('workflow app, %s', (responseMode) => {
  it('returns the input as the output, byte for byte, with run and task ids', async () => {
    const query = `héllo ${responseMode} 👩‍👩‍👧 \u2028 مرحبا`;
    const result = await client().run({ app: 'workflow', inputs: { query }, user: 'contract', responseMode });
    expect(result.outputs).toEqual({ result: query });
    expect(result.status).toBe('succeeded');
    expect(result.workflowRunId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.taskId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('an unknown key → ERR_DIFY_AUTH, 401 unauthorized, not retryable, key never shown', async () => {
    const badKey = 'app-NoSuchKeyAnywhere0000001';
    const error = await failureOf(
      client(badKey).run({ app: 'workflow', inputs: { query: 'x' }, user: 'u', responseMode }),
    );
    expect(error.code).toBe('ERR_DIFY_AUTH');
    expect(error.status).toBe(401);
    expect(error.difyCode).toBe('unauthorized');
    expect(error.retryable).toBe(false);
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(badKey);
  });

  it('a base URL without /v1 → ERR_DIFY_ROUTE (Flask’s HTML 404)', async () => {
    const error = await failureOf(
      client(dify.key, dify.baseUrl.replace(/\/v1$/, '')).run({
        app: 'workflow',
        inputs: { query: 'x' },
        user: 'u',
        responseMode,
      }),
    );
    expect(error.code).toBe('ERR_DIFY_ROUTE');
    expect(error.status).toBe(404);
  });

  it('a chat call with a workflow key → 400 not_chat_app, final', async () => {
    const error = await failureOf(
      client().run({ app: 'chat', inputs: {}, query: 'q', user: 'u', responseMode }),
    );
    expect([error.status, error.difyCode, error.retryable]).toEqual([400, 'not_chat_app', false]);
    expect(error.message).toContain('Please check if your app mode matches the right API route.');
  });
});

describe('input errors: blocking fails at once, streaming says nothing (why preflight exists)', () => {
  it('blocking: a number for a text input → 400 invalid_param with Dify’s message, final', async () => {
    const error = await failureOf(
      client().run({ app: 'workflow', inputs: { query: 42 }, user: 'u', responseMode: 'blocking' }),
    );
    expect([error.status, error.difyCode, error.retryable]).toEqual([400, 'invalid_param', false]);
    expect(error.message).toContain("(type 'text-input') query in input form must be a string");
  });

  it('blocking: over max_length and missing required → Dify’s messages', async () => {
    const tooLong = await failureOf(
      client(dify.key256).run({
        app: 'workflow',
        inputs: { query: 'x'.repeat(257) },
        user: 'u',
        responseMode: 'blocking',
      }),
    );
    expect(tooLong.message).toContain('query in input form must be less than 256 characters');
    const missing = await failureOf(
      client().run({ app: 'workflow', inputs: {}, user: 'u', responseMode: 'blocking' }),
    );
    expect(missing.message).toContain('query is required in input form');
  });

  it('streaming: the same record gets `event: ping` then silence → the client’s idle timeout', async () => {
    const quiet = new DifyClient({
      baseUrl: dify.baseUrl,
      apiKey: dify.key,
      timeouts: { idleMs: 2_000, totalMs: 10_000 },
    });
    clients.push(quiet);
    const error = await failureOf(
      quiet.run({ app: 'workflow', inputs: { query: 42 }, user: 'u', responseMode: 'streaming' }),
    );
    expect(error.code).toBe('ERR_DIFY_TIMEOUT');
    expect(error.retryable).toBe(true);
  });
});

describe('run detail and stop', () => {
  it('GET /workflows/run/{id}: the run, inputs as a JSON string with NUL stripped', async () => {
    const result = await client().run({
      app: 'workflow',
      inputs: { query: 'a\u0000b/ü' },
      user: 'detail',
      responseMode: 'blocking',
    });
    expect(result.outputs).toEqual({ result: 'ab/ü' });
    const answer = await request(`${dify.baseUrl}/workflows/run/${result.workflowRunId}`, {
      headers: { authorization: `Bearer ${dify.key}` },
    });
    const body = (await answer.body.json()) as Record<string, unknown>;
    expect(answer.statusCode).toBe(200);
    expect(body.id).toBe(result.workflowRunId);
    expect(body.status).toBe('succeeded');
    expect(typeof body.inputs).toBe('string');
    expect(JSON.parse(body.inputs as string)).toMatchObject({ query: 'ab/ü', 'sys.user_id': 'detail' });
    expect(body.outputs).toEqual({ result: 'ab/ü' });
  });

  it('an unknown run id → 404 not_found "Workflow run not found."', async () => {
    const answer = await request(`${dify.baseUrl}/workflows/run/00000000-0000-4000-8000-000000000000`, {
      headers: { authorization: `Bearer ${dify.key}` },
    });
    const body = (await answer.body.json()) as Record<string, unknown>;
    expect(answer.statusCode).toBe(404);
    expect(body).toMatchObject({ code: 'not_found', status: 404 });
    expect(String(body.message)).toMatch(/^Workflow run not found\./);
  });

  it('POST /workflows/tasks/{id}/stop answers {"result":"success"}, known task or not', async () => {
    for (const task of ['00000000-0000-4000-8000-000000000001', 'not-a-task']) {
      const answer = await request(`${dify.baseUrl}/workflows/tasks/${task}/stop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${dify.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'u' }),
      });
      expect(answer.statusCode).toBe(200);
      expect(await answer.body.json()).toEqual({ result: 'success' });
    }
  });
});
