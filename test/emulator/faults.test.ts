import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { CHAT_KEY, dataEvents, difyError, keyFor, run } from './helpers.js';

let emulator: Emulator;
let base: string;

beforeAll(async () => {
  emulator = await startEmulator();
  base = emulator.url;
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.configure({ faults: {}, faultsPerInputMax: Number.POSITIVE_INFINITY, seed: 1 });
  emulator.reset();
});

/** Opens a streamed call and hands back the body as it arrives. */
async function openStream(path: string, body: Record<string, unknown>, signal?: AbortSignal) {
  const response = await request(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keyFor(path)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'u', response_mode: 'streaming', ...body }),
    signal,
  });
  return { status: response.statusCode, iterator: response.body[Symbol.asyncIterator]() };
}

const INTERNAL = difyError(
  'internal_server_error',
  'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.',
  500,
);

describe('the __fault hook', () => {
  it('"500": Werkzeug’s internal error body', async () => {
    const reply = await run(base, '/workflows/run', { inputs: { id: 1, __fault: '500' } });
    expect(reply.status).toBe(500);
    expect(reply.text).toBe(INTERNAL);
  });

  it('"429": too_many_requests without Retry-After, as Dify /v1 answers', async () => {
    const reply = await run(base, '/workflows/run', { inputs: { id: 1, __fault: '429' } });
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBeUndefined();
    expect(JSON.parse(reply.text).code).toBe('too_many_requests');
  });

  it('"429" with rateLimitRetryAfter: Retry-After of faultRetryAfterSeconds', async () => {
    emulator.configure({ faultRetryAfterSeconds: 3, rateLimitRetryAfter: true });
    const reply = await run(base, '/workflows/run', { inputs: { id: 1, __fault: '429' } });
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('3');
    emulator.configure({ faultRetryAfterSeconds: 1, rateLimitRetryAfter: false });
  });

  it('"502": nginx’s HTML page', async () => {
    const reply = await run(base, '/workflows/run', { inputs: { id: 1, __fault: '502' } });
    expect(reply.status).toBe(502);
    expect(reply.headers['content-type']).toBe('text/html');
    expect(reply.text).toContain('<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>');
  });

  it('"reset": the connection is reset before any response', async () => {
    await expect(run(base, '/workflows/run', { inputs: { id: 1, __fault: 'reset' } })).rejects.toThrow();
    expect(emulator.stats()).toMatchObject({ faultsInjected: { reset: 1 }, byStatus: {}, active: 0 });
  });

  it('"stall": never answers and stays in flight until the client leaves', async () => {
    const pending = run(base, '/workflows/run', { inputs: { id: 1, __fault: 'stall' } }).catch(
      (e: unknown) => e,
    );
    await vi.waitFor(() => expect(emulator.stats().active).toBe(1));
    expect(await Promise.race([pending, new Promise((r) => setTimeout(r, 100, 'still waiting'))])).toBe(
      'still waiting',
    );
    await emulator.close(); // close() must not wait for the stalled socket
    expect(await pending).toBeInstanceOf(Error);
    emulator = await startEmulator();
    base = emulator.url;
  });

  it('"drop" while streaming: some events, then the connection goes', async () => {
    const { status, iterator } = await openStream('/workflows/run', { inputs: { id: 1, __fault: 'drop' } });
    expect(status).toBe(200);
    let seen = '';
    const read = async (): Promise<void> => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next())
        seen += String(next.value);
    };
    await expect(read()).rejects.toThrow();
    expect(seen.startsWith('event: ping\n\n')).toBe(true);
    expect(seen).toContain('"event":"workflow_started"');
    expect(seen).not.toContain('workflow_finished');
  });

  it('"drop" on a blocking call: a truncated body', async () => {
    await expect(run(base, '/workflows/run', { inputs: { id: 1, __fault: 'drop' } })).rejects.toThrow();
  });

  it('"error" on a workflow stream: the error event, then silence with the connection open (Dify 1.13)', async () => {
    const controller = new AbortController();
    const { iterator } = await openStream(
      '/workflows/run',
      { inputs: { id: 1, __fault: 'error' } },
      controller.signal,
    );
    let seen = '';
    while (!seen.includes('"event":"error"')) seen += String((await iterator.next()).value);
    const last = seen.trimEnd().split('\n\n').at(-1)!;
    expect(last).toMatch(
      /^data: \{"event":"error","workflow_run_id":"[0-9a-f-]{36}","code":"completion_request_error","status":400,"message":".+"\}$/,
    );
    const next = iterator.next().then(() => 'data or end');
    expect(await Promise.race([next, new Promise((r) => setTimeout(r, 150, 'silence'))])).toBe('silence');
    expect(emulator.stats().active).toBe(1);
    controller.abort();
    await next.catch(() => undefined);
    await vi.waitFor(() => expect(emulator.stats().active).toBe(0));
  });

  it('"error" on a chat stream: the error event, then the stream closes', async () => {
    const reply = await run(
      base,
      '/chat-messages',
      { inputs: { id: 1, __fault: 'error' }, query: 'q', response_mode: 'streaming' },
      CHAT_KEY,
    );
    const events = dataEvents(reply.text);
    expect(events.at(-1)).toMatchObject({ event: 'error', code: 'completion_request_error', status: 400 });
    expect(Object.keys(events.at(-1)!)).toEqual([
      'event',
      'conversation_id',
      'message_id',
      'created_at',
      'code',
      'status',
      'message',
    ]);
  });

  it('"failed": HTTP 200 with data.status "failed" and the error text', async () => {
    const blocking = JSON.parse(
      (await run(base, '/workflows/run', { inputs: { id: 1, __fault: 'failed' } })).text,
    );
    expect(blocking.data).toMatchObject({ status: 'failed', outputs: {}, total_steps: 2 });
    expect(blocking.data.error).toMatch(/^Node LLM run failed: /);
    const streamed = await run(base, '/workflows/run', {
      inputs: { id: 1, __fault: 'failed' },
      response_mode: 'streaming',
    });
    const events = dataEvents(streamed.text);
    expect(events.at(-2)).toMatchObject({ event: 'node_finished', data: { status: 'failed' } });
    expect(events.at(-1)).toMatchObject({
      event: 'workflow_finished',
      data: { status: 'failed', exceptions_count: 1 },
    });
  });

  it('":N" faults only the first N calls of that input', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await run(base, '/workflows/run', { inputs: { id: 'n', __fault: '500:2' } })).status);
    expect(statuses).toEqual([500, 500, 200]);
    expect(emulator.stats()).toMatchObject({
      faultsInjected: { 500: 2 },
      callsPerInput: { n: 3 },
      duplicates: 1,
    });
  });
});

describe('random faults', () => {
  it('rates pick faults; faultsPerInputMax spares later calls of the same input', async () => {
    emulator.configure({ faults: { rate500: 1 }, faultsPerInputMax: 1 });
    expect((await run(base, '/workflows/run', { inputs: { id: 'r' } })).status).toBe(500);
    expect((await run(base, '/workflows/run', { inputs: { id: 'r' } })).status).toBe(200);
    expect((await run(base, '/workflows/run', { inputs: { id: 's' } })).status).toBe(500);
  });

  it('stream-only faults are no fault for blocking calls', async () => {
    emulator.configure({ faults: { rateDrop: 1 } });
    expect((await run(base, '/workflows/run', { inputs: { id: 1 } })).status).toBe(200);
  });

  it('draws are seeded: the same seed gives the same sequence after reset', async () => {
    emulator.configure({ faults: { rate500: 0.3, rate429: 0.3 }, seed: 42 });
    const sequence = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 20; i++)
        out.push((await run(base, '/workflows/run', { inputs: { id: i } })).status);
      return out;
    };
    const first = await sequence();
    emulator.reset();
    expect(await sequence()).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 429, 500]));
  });
});
