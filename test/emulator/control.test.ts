import { getEventListeners } from 'node:events';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/core/InvalidOptionError.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { CHAT_KEY, call, dataEvents, run, WORKFLOW_KEY } from './helpers.js';

let emulator: Emulator;
let base: string;
let origin: string;

beforeAll(async () => {
  emulator = await startEmulator();
  base = emulator.url;
  origin = base.slice(0, -'/v1'.length);
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.configure({ countBy: 'id', latency: { kind: 'fixed', ms: 0 }, maxActiveRequests: 0 });
  emulator.reset();
});

async function control(
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const reply = await call(origin, path, { key: null, body, method: body === undefined ? 'GET' : 'POST' });
  return { status: reply.status, json: JSON.parse(reply.text) as Record<string, unknown> };
}

describe('counters over HTTP', () => {
  it('GET /_emulator/stats is the same JSON as stats(), and does not count itself', async () => {
    await run(base, '/workflows/run', { inputs: { id: 'a' } });
    await call(base, '/nope');
    const { json } = await control('/_emulator/stats');
    expect(json).toEqual(emulator.stats());
    expect(json).toMatchObject({ requests: 2, active: 0, peakActive: 1, byStatus: { 200: 1, 404: 1 } });
  });

  it('counts calls per input by the countBy field, else by the canonical inputs', async () => {
    for (const id of ['a', 'a', 'a', 'b']) await run(base, '/workflows/run', { inputs: { id } });
    expect((await control('/_emulator/stats')).json).toMatchObject({
      callsPerInput: { a: 3, b: 1 },
      duplicates: 1,
    });
    emulator.configure({ countBy: 'row' });
    emulator.reset();
    await run(base, '/workflows/run', { inputs: { row: 7, x: 1 } });
    await run(base, '/workflows/run', { inputs: { x: 2, y: [1] } });
    await run(base, '/workflows/run', { inputs: { y: [1], x: 2, __fault: 'failed:0' } });
    expect(emulator.stats().callsPerInput).toEqual({ 7: 1, '{"x":2,"y":[1]}': 2 });
  });

  it('POST /_emulator/reset zeroes the counters', async () => {
    await run(base, '/workflows/run', { inputs: { id: 'a' } });
    const { json } = await control('/_emulator/reset', {});
    expect(json).toMatchObject({ requests: 0, byStatus: {}, callsPerInput: {}, duplicates: 0 });
  });

  it('trackCallsPerInput: false leaves callsPerInput out', async () => {
    emulator.configure({ trackCallsPerInput: false });
    await run(base, '/workflows/run', { inputs: { id: 'a' } });
    expect(emulator.stats().callsPerInput).toBeUndefined();
    emulator.configure({ trackCallsPerInput: true });
  });
});

describe('configuration', () => {
  it('POST /_emulator/config changes knobs at runtime; Infinity travels as null', async () => {
    const { status, json } = await control('/_emulator/config', {
      maxActiveRequests: 3,
      faultsPerInputMax: null,
    });
    expect(status).toBe(200);
    expect(json).toMatchObject({ maxActiveRequests: 3, faultsPerInputMax: null, countBy: 'id' });
    expect((await control('/_emulator/config')).json.maxActiveRequests).toBe(3);
  });

  it('a bad value is refused with the option named, and nothing changes', async () => {
    const { status, json } = await control('/_emulator/config', { maxActiveRequests: -1, seed: 9 });
    expect(status).toBe(400);
    expect(json.error).toBe('Expected `maxActiveRequests` to be an integer from 0 and up, got `-1` (number)');
    expect((await control('/_emulator/config')).json.seed).toBe(1);
    expect(() => emulator.configure({ faults: { rate500: 0.7, rate502Html: 0.7 } })).toThrow(
      InvalidOptionError,
    );
    expect(() => emulator.configure({ port: 1 })).toThrow(InvalidOptionError);
    await expect(startEmulator({ latency: { kind: 'uniform', minMs: 5, maxMs: 1 } })).rejects.toThrow(
      /^Expected `latency` to be/,
    );
  });
});

describe('stopping a task', () => {
  it('a streaming workflow ends with workflow_finished "stopped"; the run detail agrees', async () => {
    emulator.configure({ latency: { kind: 'fixed', ms: 5_000 } });
    const response = await request(`${base}/workflows/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WORKFLOW_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: { id: 's' }, user: 'u1', response_mode: 'streaming' }),
    });
    const iterator = response.body[Symbol.asyncIterator]();
    let text = '';
    while (!text.includes('"workflow_started"')) text += String((await iterator.next()).value);
    const started = dataEvents(text.slice(0, text.lastIndexOf('\n\n') + 2))[0]!;
    const taskId = started.task_id as string;
    // Another user's stop flag is never read.
    await run(base, `/workflows/tasks/${taskId}/stop`, { user: 'someone-else' });
    expect(emulator.stats().active).toBe(1);
    expect((await run(base, `/workflows/tasks/${taskId}/stop`, { user: 'u1' })).status).toBe(200);
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      text += String(next.value);
    const finished = dataEvents(text).at(-1)!;
    expect(finished).toMatchObject({
      event: 'workflow_finished',
      data: { status: 'stopped', error: 'Stopped by user.' },
    });
    const detail = JSON.parse((await call(base, `/workflows/run/${started.workflow_run_id}`)).text);
    expect(detail).toMatchObject({ status: 'stopped', error: 'Stopped by user.' });
  });

  it('a streaming chat ends at once with message_end', async () => {
    emulator.configure({ latency: { kind: 'fixed', ms: 2_000 } });
    const t0 = performance.now();
    const response = await request(`${base}/chat-messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CHAT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'q', user: 'u1', response_mode: 'streaming' }),
    });
    const iterator = response.body[Symbol.asyncIterator]();
    const first = String((await iterator.next()).value);
    const taskId = dataEvents(first)[0]!.task_id as string;
    await run(base, `/chat-messages/${taskId}/stop`, { user: 'u1' }, CHAT_KEY);
    let rest = first;
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      rest += String(next.value);
    const events = dataEvents(rest);
    expect(events.map((e) => e.event)).toEqual(['message', 'message_end']);
    expect(performance.now() - t0).toBeLessThan(1_500);
  });
});

describe('close()', () => {
  it('destroys sockets of calls still in flight and resolves', async () => {
    const own = await startEmulator({ latency: { kind: 'fixed', ms: 60_000 } });
    const pending = run(own.url, '/workflows/run', { inputs: {}, response_mode: 'streaming' }).catch(
      (e: unknown) => e,
    );
    const held = run(own.url, '/workflows/run', { inputs: { __fault: 'stall' } }).catch((e: unknown) => e);
    while (own.stats().active < 2) await new Promise((resolve) => setImmediate(resolve));
    const t0 = performance.now();
    await own.close();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(await held).toBeInstanceOf(Error);
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('AbortSignal', () => {
  it('an aborted signal closes the emulator and leaves no listener behind', async () => {
    const controller = new AbortController();
    const own = await startEmulator({}, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    await expect(call(own.url, '/', { key: null })).rejects.toThrow();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await own.close();
  });

  it('close() removes the listener; an already aborted signal rejects with its reason', async () => {
    const controller = new AbortController();
    const own = await startEmulator({}, { signal: controller.signal });
    await own.close();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expect(startEmulator({}, { signal: AbortSignal.abort(new Error('stop')) })).rejects.toThrow('stop');
  });
});
